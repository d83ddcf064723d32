/**
 * A RecordHorizon as binary chunks, for a takeover that loads the horizon instead of
 * re-reading every log entry inside it. Layout (native byte order, checked by a mark):
 *   header:        u32 magic "TLHZ", u32 version, u32 byte-order mark, u32 partitions,
 *                  f64 newestAt, live, current, epochLimit,
 *                  f64[256] each: keys, firstAt, lastAt of the epochs by tag
 *   per partition: u32 packed count, u32 packed wide, u32 recent slots, u32 recent wide,
 *                  f64 packed base, f64 recent base,
 *                  then each table's h0 (4 bytes a slot), h1..h3 (12), seqs (4, or 8 if wide)
 * cut into chunks of at most CHUNK_BYTES wherever the bytes fall. The packed directories
 * are rebuilt on restore (one pass), which also checks that the entries are grouped.
 */
import type { Table } from './partition.js';
import { Seqs } from './seqs.js';

export const CHUNK_BYTES = 4 * 1024 * 1024;
const MAGIC = 0x5a484c54;
const VERSION = 1;
const BYTE_ORDER = 0x01020304;
const TAGS = 256;
const HEADER = 16 + 32 + 3 * TAGS * 8;
const PART = 16 + 16;

export interface HorizonImage {
  newestAt: number;
  live: number;
  current: number;
  epochLimit: number;
  epochKeys: Float64Array;
  firstAt: Float64Array;
  lastAt: Float64Array;
  partitions: { packed: Table; recent: Table }[];
}

/** A snapshot that cannot be restored; never reaches HTTP or dead letters (the owner reads the log instead). */
export class HorizonSnapshotError extends Error {
  readonly code = 'horizon_snapshot_invalid';
  override readonly name = 'HorizonSnapshotError';
}

function bytesOf(a: Int32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function record(words: readonly number[], floats: readonly (number | Float64Array)[], size: number): Uint8Array {
  const buf = new ArrayBuffer(size);
  new Uint32Array(buf, 0, words.length).set(words);
  let at = words.length * 4;
  for (const f of floats) {
    const values = typeof f === 'number' ? [f] : f;
    new Float64Array(buf, at, values.length).set(values);
    at += values.length * 8;
  }
  return new Uint8Array(buf);
}

export function toChunks(image: HorizonImage): Buffer[] {
  const { newestAt, live, current, epochLimit, epochKeys, firstAt, lastAt } = image;
  const pieces = [record([MAGIC, VERSION, BYTE_ORDER, image.partitions.length], [newestAt, live, current, epochLimit, epochKeys, firstAt, lastAt], HEADER)];
  for (const { packed, recent } of image.partitions) {
    const wide = (t: Table): number => (t.seqs.words instanceof Float64Array ? 1 : 0);
    pieces.push(record([packed.h0.length, wide(packed), recent.h0.length, wide(recent)], [packed.seqs.base, recent.seqs.base], PART));
    for (const t of [packed, recent]) pieces.push(bytesOf(t.h0), bytesOf(t.hx), bytesOf(t.seqs.words));
  }
  let total = 0;
  for (const p of pieces) total += p.byteLength;
  const chunks: Buffer[] = [];
  for (let left = total; left > 0; left -= CHUNK_BYTES) chunks.push(Buffer.allocUnsafe(Math.min(CHUNK_BYTES, left)));
  let c = 0;
  let at = 0;
  for (let p of pieces) {
    while (p.byteLength > 0) {
      const chunk = chunks[c]!;
      const n = Math.min(p.byteLength, chunk.byteLength - at);
      chunk.set(p.subarray(0, n), at);
      p = p.subarray(n);
      at += n;
      if (at === chunk.byteLength) {
        c++;
        at = 0;
      }
    }
  }
  return chunks;
}

/** Reads bytes in order across chunk boundaries. */
class ChunkReader {
  private c = 0;
  private at = 0;
  remaining: number;

  constructor(private readonly chunks: readonly Uint8Array[]) {
    this.remaining = chunks.reduce((n, chunk) => n + chunk.byteLength, 0);
  }

  fill(dst: Uint8Array): void {
    if (dst.byteLength > this.remaining) throw new HorizonSnapshotError('horizon snapshot is truncated');
    this.remaining -= dst.byteLength;
    let to = 0;
    while (to < dst.byteLength) {
      const chunk = this.chunks[this.c]!;
      const n = Math.min(dst.byteLength - to, chunk.byteLength - this.at);
      dst.set(chunk.subarray(this.at, this.at + n), to);
      to += n;
      this.at += n;
      if (this.at === chunk.byteLength) {
        this.c++;
        this.at = 0;
      }
    }
  }

  record(words: number, size: number): { w: Uint32Array; f: Float64Array } {
    const bytes = new Uint8Array(size);
    this.fill(bytes);
    return { w: new Uint32Array(bytes.buffer, 0, words), f: new Float64Array(bytes.buffer, words * 4) };
  }

  table(slots: number, wide: number, base: number): Table {
    if (wide > 1 || slots * (wide ? 24 : 20) > this.remaining) throw new HorizonSnapshotError('horizon snapshot table is malformed');
    const t = { h0: new Int32Array(slots), hx: new Int32Array(3 * slots), seqs: new Seqs(wide ? new Float64Array(slots) : new Int32Array(slots), base) };
    this.fill(bytesOf(t.h0));
    this.fill(bytesOf(t.hx));
    this.fill(bytesOf(t.seqs.words));
    return t;
  }
}

export function fromChunks(chunks: readonly Uint8Array[]): HorizonImage {
  const r = new ChunkReader(chunks);
  const { w, f } = r.record(4, HEADER);
  if (w[0] !== MAGIC || w[1] !== VERSION) throw new HorizonSnapshotError('not a horizon snapshot of this version');
  if (w[2] !== BYTE_ORDER) throw new HorizonSnapshotError('horizon snapshot written in another byte order');
  const [newestAt, live, current, epochLimit] = [f[0]!, f[1]!, f[2]!, f[3]!];
  if (!Number.isSafeInteger(live) || !Number.isSafeInteger(current) || current - live >= TAGS || live > current + 1)
    throw new HorizonSnapshotError('horizon snapshot epochs are malformed');
  const partitions: HorizonImage['partitions'] = [];
  for (let p = w[3]!; p > 0; p--) {
    const part = r.record(4, PART);
    const packed = r.table(part.w[0]!, part.w[1]!, part.f[0]!);
    const recent = r.table(part.w[2]!, part.w[3]!, part.f[1]!);
    partitions.push({ packed, recent });
  }
  if (r.remaining !== 0) throw new HorizonSnapshotError('horizon snapshot has trailing bytes');
  return {
    newestAt,
    live,
    current,
    epochLimit,
    epochKeys: f.slice(4, 4 + TAGS),
    firstAt: f.slice(4 + TAGS, 4 + 2 * TAGS),
    lastAt: f.slice(4 + 2 * TAGS, 4 + 3 * TAGS),
    partitions,
  };
}
