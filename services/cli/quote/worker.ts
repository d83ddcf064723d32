/** A `tally quote` pricing thread: blocks of lines in, PricedChunk out, in arrival order. */
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkPricer, movable, type ChunkPricerOptions } from './chunk.js';

const pricer = new ChunkPricer(workerData as ChunkPricerOptions);
const port = parentPort!;
port.on('message', (bytes: Uint8Array) => {
  const priced = pricer.price(bytes);
  port.postMessage(priced, movable(priced.out, priced.keyBytes, priced.keyEnds, priced.spans));
});
