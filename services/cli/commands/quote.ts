/**
 * `tally quote`: prices a recorded stream offline. Streams both ways: input is split into
 * lines chunk by chunk and output is written in blocks that respect backpressure, so
 * memory does not grow with the stream (only with its distinct ids, see Quoter).
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import {
  Quoter,
  formatQuoteLine,
  parseAccountLine,
  type Ladder,
  type PriceBook,
} from '../../../shared/domain/index.js';

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
}

export interface QuoteSummary {
  lines: number;
  charged: number;
  duplicates: number;
  dead: number;
}

/** Output is flushed in blocks of about this many characters. */
const BLOCK_CHARS = 1 << 16;
/**
 * A line longer than this cannot hold an 8 KiB payload however it is escaped; it is
 * answered `too_large` and skipped without being held in memory.
 */
const MAX_LINE_CHARS = 1 << 20;
const TOO_LARGE = formatQuoteLine({ dead: 'too_large' });

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
  const firstPaidAt = options.accountsFile === undefined ? new Map() : await loadFirstPaidAt(options.accountsFile);
  const { output, now, priceBook, ladder, lateArrivalDays } = options;
  const quoter = new Quoter({ priceBook, ladder, lateArrivalDays, firstPaidAt });
  const summary: QuoteSummary = { lines: 0, charged: 0, duplicates: 0, dead: 0 };
  let block: string[] = [];
  let blockChars = 0;

  const flush = async (): Promise<void> => {
    if (block.length === 0) return;
    const ready = output.write(block.join(''));
    block = [];
    blockChars = 0;
    if (!ready) await once(output, 'drain');
  };

  const emit = (text: string): void => {
    block.push(text, '\n');
    blockChars += text.length + 1;
    summary.lines++;
  };

  const answer = (line: string): void => {
    const result = quoter.quoteLine(line.endsWith('\r') ? line.slice(0, -1) : line, now);
    if ('dead' in result) summary.dead++;
    else if ('duplicate' in result) summary.duplicates++;
    else summary.charged++;
    emit(formatQuoteLine(result));
  };

  const decoder = new StringDecoder('utf8');
  let carry = '';
  let oversized = false;
  for await (const chunk of options.input) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (oversized) {
        summary.dead++;
        emit(TOO_LARGE);
        oversized = false;
      } else {
        answer(text.slice(start, nl));
      }
      start = nl + 1;
    }
    carry = text.slice(start);
    if (carry.length > MAX_LINE_CHARS) {
      oversized = true;
      carry = '';
    }
    if (blockChars >= BLOCK_CHARS) await flush();
  }
  carry += decoder.end();
  if (oversized) {
    summary.dead++;
    emit(TOO_LARGE);
  } else if (carry !== '') {
    answer(carry);
  }
  await flush();
  return summary;
}
