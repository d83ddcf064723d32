/**
 * Where blocks get priced: on this thread, or on a few worker threads. Either way the
 * answer for each block is a promise, and the caller takes them in submission order.
 */
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
 * `threads` workers, blocks dealt round robin. A worker answers its blocks in the order
 * it got them, so each keeps a FIFO of waiters. The compiled worker (dist) is what runs:
 * under vitest the source tree has no worker script, so tests use inlineRunner.
 */
export function threadRunner(options: ChunkPricerOptions, threads: number): ChunkRunner {
  const script = new URL('./worker.js', import.meta.url);
  const workers = Array.from({ length: threads }, () => {
    const worker = new Worker(script, { workerData: options, resourceLimits: { maxYoungGenerationSizeMb: 48 } });
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
