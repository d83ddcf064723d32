/**
 * One block of a recorded stream, priced: the unit of work `tally quote` hands to its
 * threads. A block is whole lines (it ends at a newline, or at the end of the input),
 * so blocks can be priced in any order and on any thread; only the repeat check waits
 * for stream order (the merge in runQuote, services/cli/commands/quote.ts).
 */
import { MicrosTotal, QuotePricer, formatQuoteLine, recordKey, type QuoterOptions } from '../../../shared/domain/index.js';

export interface PricedChunk {
  /** The answers, one line each, as ASCII bytes (ids, codes and numbers are all ASCII). */
  out: Uint8Array;
  /**
   * The charged lines' record keys (recordKey: account and id, what a repeat is judged
   * by), in order, end to end as ASCII bytes (the id and account rules allow nothing else).
   */
  keyBytes: Uint8Array;
  /** Where the k-th charged line's key ends in keyBytes (it starts where the previous one ends). */
  keyEnds: Int32Array;
  /** For the k-th charged line: where its answer starts and ends in `out` (2k, 2k + 1). */
  spans: Int32Array;
  lines: number;
  dead: number;
  /** The sum of the charged lines' charges, repeats included (only the merge knows them). */
  chargeMicros: bigint;
}

export interface ChunkPricerOptions extends QuoterOptions {
  now: number;
}

const NEWLINE = 10;

/** A copy of buf with room for at least `need` bytes. */
function grow(buf: Buffer, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
  buf.copy(next);
  return next;
}

export class ChunkPricer {
  private readonly pricer: QuotePricer;
  private readonly now: number;

  constructor(options: ChunkPricerOptions) {
    this.pricer = new QuotePricer(options);
    this.now = options.now;
  }

  price(bytes: Uint8Array): PricedChunk {
    // Cut at newlines only, so no UTF-8 sequence is split: 0x0A is never part of one.
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    const end = bytes[bytes.length - 1] === NEWLINE ? text.length - 1 : text.length;
    let out: Buffer = Buffer.allocUnsafe(bytes.length + 4096);
    const keys: string[] = [];
    const keyEnds: number[] = [];
    let keyAt = 0;
    const spans: number[] = [];
    let at = 0;
    let lines = 0;
    let dead = 0;
    const total = new MicrosTotal();
    let start = 0;
    for (;;) {
      let nl = text.indexOf('\n', start);
      if (nl === -1 || nl > end) nl = end;
      const raw = text.slice(start, nl);
      const answer = this.pricer.assess(raw.endsWith('\r') ? raw.slice(0, -1) : raw, this.now);
      const line = formatQuoteLine(answer);
      if ('dead' in answer) dead++;
      else {
        total.add(answer.charge_micros);
        const key = recordKey(answer.account_id, answer.id);
        keys.push(key);
        keyAt += key.length;
        keyEnds.push(keyAt);
        spans.push(at, at + line.length);
      }
      if (at + line.length + 1 > out.length) out = grow(out, at + line.length + 1);
      at += out.write(line, at, 'latin1');
      out[at++] = NEWLINE;
      lines++;
      if (nl >= end) break;
      start = nl + 1;
    }
    return {
      out: out.subarray(0, at),
      keyBytes: Buffer.from(keys.join(''), 'latin1'),
      keyEnds: Int32Array.from(keyEnds),
      spans: Int32Array.from(spans),
      lines,
      dead,
      chargeMicros: total.value,
    };
  }
}

/**
 * The memory under `views` that may move to another thread instead of being copied: a
 * view's buffer unless it is Node's shared pool (where small Buffers live, exactly
 * Buffer.poolSize long), each buffer once. The caller must not use the views afterwards.
 */
export function movable(...views: ArrayBufferView[]): ArrayBuffer[] {
  const buffers = views.map((v) => v.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > Buffer.poolSize);
  return [...new Set(buffers)];
}
