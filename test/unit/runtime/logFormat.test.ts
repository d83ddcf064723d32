import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** What a process logging one line writes on stderr (a pipe here, as in CI and under every test). */
function logLine(format: string | undefined): string {
  const script = `
    const { createLogger } = await import('./shared/runtime/logger.ts');
    createLogger({ name: 'tally-test', ${format === undefined ? '' : `format: '${format}'`} })
      .child({ service: 'worker' })
      .info({ shard: 3, natsUrl: 'nats://u:pw@n:4222', adminToken: 'pw-secret' }, 'shard loaded');`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stderr;
}

describe('log format', () => {
  it('writes JSON lines when stderr is not a terminal (auto), which tests and log files rely on', () => {
    const line = JSON.parse(logLine(undefined)) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, name: 'tally-test', service: 'worker', shard: 3, msg: 'shard loaded', adminToken: '[redacted]' });
  });

  it('writes one readable line per entry when asked (a terminal gets it by default), redacted as the JSON is', () => {
    const out = logLine('pretty');
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(tally-test\): worker: shard loaded \{.*"shard":3/);
    expect(out).toContain('nats://***@n:4222');
    expect(out).not.toMatch(/pw@|pw-secret/);
  });
});
