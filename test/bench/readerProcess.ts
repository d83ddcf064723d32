/**
 * HTTP readers in a process of their own (issue 29): the bench's main process also waits
 * for the stream to settle, samples /proc and parses what it reads back, and its event-loop
 * delay (p99 29-44 ms under the stream) was added to every latency its readers measured.
 * Here the readers' clock runs on a loop that does nothing else; the child reports its own
 * loop delay with the figures, so what is left of it in a latency is visible.
 *
 * Parent side: `readInChild(spec, stop)`. Child side: this file, forked under tsx's loader
 * whatever runs the parent (`npm run bench`, or vitest in bench.test.ts).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { httpLoad, type LoadResult } from './httpLoad.js';

export interface ReaderSpec {
  url: string;
  clients: number;
  pauseMs: number;
  headers: Record<string, string>;
  /** The path read, with `{account}` replaced by `acct-<random below accounts>` at each request. */
  pathTemplate: string;
  accounts: number;
  /** Stop after this many requests (else when the parent says stop). */
  max?: number;
}

export interface ReaderResult extends LoadResult {
  /** The reader process's own event-loop delay over the run (10 ms resolution), ms. */
  loop_delay_ms: { p99: number; max: number };
}

type ToChild = { type: 'start'; spec: ReaderSpec } | { type: 'stop' };
type ToParent = { type: 'done'; result: ReaderResult } | { type: 'failed'; message: string };

const POLL_STOP_MS = 20;

/** Runs the readers in a forked process until `stop()` turns true (polled) or `spec.max` requests were answered. */
export function readInChild(spec: ReaderSpec, stop: () => boolean): Promise<ReaderResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--reader-child'], {
    cwd: join(import.meta.dirname, '..', '..'),
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<ReaderResult>((resolve, reject) => {
    const timer = setInterval(() => {
      if (stop() && child.connected) {
        child.send({ type: 'stop' } satisfies ToChild);
        clearInterval(timer);
      }
    }, POLL_STOP_MS);
    child.on('message', (m: ToParent) => {
      clearInterval(timer);
      if (m.type === 'done') resolve(m.result);
      else reject(new Error(`reader process: ${m.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`reader process exited (${code}) without a result`));
    });
    child.send({ type: 'start', spec } satisfies ToChild);
  });
}

async function runChild(spec: ReaderSpec): Promise<ReaderResult> {
  let stopped = false;
  process.on('message', (m: ToChild) => {
    if (m.type === 'stop') stopped = true;
  });
  const [head, tail] = spec.pathTemplate.split('{account}') as [string, string | undefined];
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const result = await httpLoad({
    url: spec.url,
    clients: spec.clients,
    pauseMs: spec.pauseMs,
    stop: () => stopped,
    next: (i) =>
      spec.max !== undefined && i >= spec.max
        ? null
        : { method: 'GET', path: `${head}acct-${Math.floor(Math.random() * spec.accounts)}${tail ?? ''}`, headers: spec.headers },
  });
  delay.disable();
  return { ...result, loop_delay_ms: { p99: Math.round(delay.percentile(99) / 1e5) / 10, max: Math.round(delay.max / 1e5) / 10 } };
}

if (process.argv.includes('--reader-child')) {
  process.once('message', (m: ToChild) => {
    if (m.type !== 'start') return;
    runChild(m.spec).then(
      (result) => process.send!({ type: 'done', result } satisfies ToParent, () => process.exit(0)),
      (err: unknown) => process.send!({ type: 'failed', message: String(err) } satisfies ToParent, () => process.exit(1)),
    );
  });
}
