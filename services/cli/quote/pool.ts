/**
 * Where blocks get priced: on this thread, or on a few worker threads. Either way the
 * answer for each block is a promise, and the caller takes them in submission order.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ChunkPricer, movable, type ChunkPricerOptions, type PricedChunk } from './chunk.js';

export interface ChunkRunner {
  /** Blocks that may be in flight at once before the caller should wait for the oldest. */
  readonly window: number;
  /** The caller gives up `bytes`: a thread runner moves its memory to the thread instead of copying it. */
  price(bytes: Uint8Array): Promise<PricedChunk>;
  close(): Promise<void>;
}

export function inlineRunner(options: ChunkPricerOptions): ChunkRunner {
  const pricer = new ChunkPricer(options);
  return {
    window: 1,
    price: async (bytes) => pricer.price(bytes),
    close: async () => {},
  };
}

interface Waiter {
  resolve: (priced: PricedChunk) => void;
  reject: (err: Error) => void;
}

/**
 * The compiled worker next to this module (dist). When this module is the source itself,
 * run through tsx (`npx tsx services/cli/main.ts quote`), a worker thread does not inherit
 * tsx's loader, so a two-line bootstrap registers it and imports the worker's source.
 */
function workerScript(): { script: URL | string; eval: boolean } {
  const compiled = new URL('./worker.js', import.meta.url);
  const source = new URL('./worker.ts', import.meta.url);
  if (existsSync(compiled) || !existsSync(source)) return { script: compiled, eval: false };
  const api = import.meta.resolve('tsx/esm/api');
  return { script: `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}); });`, eval: true };
}

/**
 * `threads` workers, blocks dealt round robin. A worker answers its blocks in the order
 * it got them, so each keeps a FIFO of waiters. Unit tests under vitest use inlineRunner;
 * test/e2e/quoteThreads.test.ts runs this one from the build and from the source.
 */
export function threadRunner(options: ChunkPricerOptions, threads: number): ChunkRunner {
  const { script, eval: evaluate } = workerScript();
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(script, { eval: evaluate, workerData: options, resourceLimits: { maxYoungGenerationSizeMb: 48 } });
    const waiters: Waiter[] = [];
    worker.on('message', (priced: PricedChunk) => waiters.shift()?.resolve(priced));
    const fail = (err: Error): void => {
      for (const w of waiters.splice(0)) w.reject(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`quote thread exited with code ${code}`)));
    return { worker, waiters };
  });
  let next = 0;
  return {
    window: threads * 2,
    price(bytes) {
      const slot = workers[next]!;
      next = (next + 1) % workers.length;
      return new Promise<PricedChunk>((resolve, reject) => {
        slot.waiters.push({ resolve, reject });
        slot.worker.postMessage(bytes, movable(bytes));
      });
    },
    async close() {
      await Promise.all(workers.map(({ worker }) => worker.terminate()));
    },
  };
}
