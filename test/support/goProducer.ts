import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'test/support/go-producer');
const BIN = join(ROOT, '.tools/bin/go-producer');

export interface GoProducerReport {
  sent: number;
  acked: number;
  errors: number;
  seconds: number;
}

const mtime = (path: string): number => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

/**
 * Builds test/support/go-producer (the official NATS Go client publishing a recorded
 * stream) into .tools/bin when its sources are newer; a cached build takes well under a
 * second, a cold one about a minute (modules from the Go proxy).
 */
export async function goProducer(): Promise<string> {
  const built = mtime(BIN);
  if (['main.go', 'go.mod', 'go.sum'].some((f) => mtime(join(SRC, f)) > built)) {
    await run('go', ['build', '-trimpath', '-o', BIN, '.'], { cwd: SRC, timeout: 300_000 });
  }
  return BIN;
}

/** Where a producer publishes, and the seed file of its NATS identity (the servers' `producerNkey`). */
export interface ProducerTarget {
  natsUrl: string;
  producerNkey: string;
}

/** Publishes NDJSON recorded-stream `lines` with the Go client as the producer; resolves with its report. */
export async function publishWithGo(target: ProducerTarget, ndjsonFile: string, options: { noMsgId?: boolean } = {}): Promise<GoProducerReport> {
  const bin = await goProducer();
  const args = ['-server', target.natsUrl, '-nkey', target.producerNkey, ...(options.noMsgId ? ['-no-msg-id'] : [])];
  const { stdout } = await run('sh', ['-c', `exec "$0" "$@" < "${ndjsonFile}"`, bin, ...args], { timeout: 300_000, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as GoProducerReport;
}
