/**
 * `tally quote`: prices a recorded stream offline. Streams both ways: input is cut into
 * blocks of whole lines, blocks are priced on worker threads (or this one), and answers
 * are written in input order with backpressure, so memory does not grow with the stream
 * (only with its distinct record keys, see IdSet).
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { IdSet, formatQuoteLine, formatUsd, parseAccountLine, type Ladder, type PriceBook } from '../../../shared/domain/index.js';
import type { PricedChunk } from '../quote/chunk.js';
import { inlineRunner, threadRunner } from '../quote/pool.js';

export interface QuoteOptions {
  /** NDJSON of `{"account_id", "first_paid_at"}`; accounts not listed have never paid. */
  accountsFile?: string;
  input: AsyncIterable<Buffer | string>;
  output: NodeJS.WritableStream;
  priceBook: PriceBook;
  ladder: Ladder;
  lateArrivalDays: number;
  /** The instant future and too-late records are judged against, fixed for the whole run. */
  now: number;
  /**
   * Worker threads that validate and price; 0 prices on this thread. Needs the compiled
   * build (the worker script is dist/services/cli/quote/worker.js).
   * @defaultValue 0
   */
  threads?: number;
  /** Input is handed out in blocks of about this many bytes, cut after the last newline. @defaultValue 256 KiB */
  blockBytes?: number;
}

export interface QuoteSummary {
  lines: number;
  charged: number;
  duplicates: number;
  dead: number;
  /** What the charged lines cost together (repeats and dead lines cost nothing). */
  chargeMicros: bigint;
}

/** `1000 lines, 961 charged for $12.50 (12500000 micros), 20 duplicates, 19 dead`. */
export function formatQuoteSummary(s: QuoteSummary): string {
  return `${s.lines} lines, ${s.charged} charged for ${formatUsd(s.chargeMicros)} (${s.chargeMicros} micros), ${s.duplicates} duplicates, ${s.dead} dead`;
}

const BLOCK_BYTES = 1 << 18;
/**
 * A line longer than this cannot hold an 8 KiB payload however it is escaped; it is
 * answered `too_large` and skipped without being held in memory.
 */
const MAX_LINE_BYTES = 1 << 20;
const NEWLINE = 10;
const TOO_LARGE: PricedChunk = {
  out: Buffer.from(`${formatQuoteLine({ dead: 'too_large' })}\n`, 'latin1'),
  keyBytes: new Uint8Array(0),
  keyEnds: new Int32Array(0),
  spans: new Int32Array(0),
  lines: 1,
  dead: 1,
  chargeMicros: 0n,
};

/** bytes[start, end) as text: answers and ids are ASCII. */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

export async function loadFirstPaidAt(file: string): Promise<Map<string, number>> {
  const firstPaidAt = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    const account = parseAccountLine(line, ++lineNo);
    if (account === null) continue;
    if (account.firstPaidAt === null) firstPaidAt.delete(account.accountId);
    else firstPaidAt.set(account.accountId, account.firstPaidAt);
  }
  return firstPaidAt;
}

export async function runQuote(options: QuoteOptions): Promise<QuoteSummary> {
  const firstPaidAt = options.accountsFile === undefined ? new Map<string, number>() : await loadFirstPaidAt(options.accountsFile);
  const { output, now, priceBook, ladder, lateArrivalDays } = options;
  const pricing = { priceBook, ladder, lateArrivalDays, firstPaidAt, now };
  const threads = options.threads ?? 0;
  const runner = threads > 0 ? threadRunner(pricing, threads) : inlineRunner(pricing);
  const blockBytes = options.blockBytes ?? BLOCK_BYTES;
  const seen = new IdSet();
  const summary: QuoteSummary = { lines: 0, charged: 0, duplicates: 0, dead: 0, chargeMicros: 0n };

  /** Answers in input order: a charged line whose record key (account, id) came earlier becomes a duplicate. */
  const write = async (priced: PricedChunk): Promise<void> => {
    summary.lines += priced.lines;
    summary.dead += priced.dead;
    const { out, spans, keyBytes, keyEnds } = priced;
    let chargeMicros = priced.chargeMicros;
    const pieces: Uint8Array[] = [];
    let from = 0;
    for (let k = 0, keyStart = 0; k < keyEnds.length; keyStart = keyEnds[k++]!) {
      if (seen.addBytes(keyBytes, keyStart, keyEnds[k]!)) {
        summary.charged++;
        continue;
      }
      summary.duplicates++;
      // A repeat's charge came into the block's sum; its answer line says how much, and its id (repeats are few).
      const answer = JSON.parse(latin1(out, spans[2 * k]!, spans[2 * k + 1]!)) as { id: string; charge_micros: number | string };
      chargeMicros -= BigInt(answer.charge_micros);
      pieces.push(out.subarray(from, spans[2 * k]), Buffer.from(formatQuoteLine({ duplicate: answer.id }), 'latin1'));
      from = spans[2 * k + 1]!;
    }
    summary.chargeMicros += chargeMicros;
    const block = from === 0 ? out : Buffer.concat([...pieces, out.subarray(from)]);
    if (!output.write(block)) await once(output, 'drain');
  };

  const inFlight: Promise<PricedChunk>[] = [];
  const submit = async (priced: Promise<PricedChunk>): Promise<void> => {
    inFlight.push(priced);
    while (inFlight.length > runner.window) await write(await inFlight.shift()!);
  };

  try {
    let held: Buffer[] = [];
    let heldBytes = 0;
    let oversized = false;
    for await (const chunk of options.input) {
      let bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      if (oversized) {
        const nl = bytes.indexOf(NEWLINE);
        if (nl === -1) continue;
        oversized = false;
        await submit(Promise.resolve(TOO_LARGE));
        bytes = bytes.subarray(nl + 1);
      }
      held.push(bytes);
      heldBytes += bytes.length;
      if (heldBytes < blockBytes) continue;
      const all = Buffer.concat(held, heldBytes);
      const cut = all.lastIndexOf(NEWLINE) + 1;
      // Copied out first: the block's memory may move to a pricing thread.
      const rest = Buffer.from(all.subarray(cut));
      if (cut > 0) await submit(runner.price(all.subarray(0, cut)));
      if (rest.length > MAX_LINE_BYTES) {
        oversized = true;
        held = [];
        heldBytes = 0;
      } else {
        held = [rest];
        heldBytes = rest.length;
      }
    }
    if (oversized) await submit(Promise.resolve(TOO_LARGE));
    else if (heldBytes > 0) await submit(runner.price(Buffer.concat(held, heldBytes)));
    while (inFlight.length > 0) await write(await inFlight.shift()!);
  } finally {
    await runner.close();
  }
  return summary;
}
