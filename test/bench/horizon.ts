/**
 * The dedup horizon's memory and speed: RecordHorizon (hashed, services/worker/recordHorizon.ts)
 * against the Map<string, number> it replaced, and the key hash against node:crypto.
 *   node --expose-gc --import tsx test/bench/horizon.ts [N...]   (default 1000000 5000000)
 * Keys look like the owner's: `acct-<n>/r-<n>` (~17-20 characters), added in batches of
 * 1000 with a stream sequence each. Bytes per id: heapUsed + arrayBuffers after a full GC,
 * less the same before (keys are generated on the fly, so they are not counted). Restore:
 * serialize() to 4 MiB chunks, then RecordHorizon.restore of them. Results: the JSON last line.
 */
import { hash as cryptoHash } from 'node:crypto';
import os from 'node:os';
import { RecordHorizon } from '../../services/worker/core/recordHorizon.js';
import { hashKey } from '../../services/worker/core/horizon/hash128.js';

interface Horizon {
  readonly size: number;
  get(key: string): number | undefined;
  add(at: number, keys: Iterable<readonly [string, number]>): void;
}

/** The Map the horizon was before (commit b874b92), for comparison. */
class MapHorizon implements Horizon {
  private readonly seqs = new Map<string, number>();
  get size(): number {
    return this.seqs.size;
  }
  get(key: string): number | undefined {
    return this.seqs.get(key);
  }
  add(_at: number, keys: Iterable<readonly [string, number]>): void {
    for (const [key, seq] of keys) if (!this.seqs.has(key)) this.seqs.set(key, seq);
  }
}

const BATCH = 1000;
const key = (i: number): string => `acct-${(i * 7919) % 10007}/r-${i}`;
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function fill(h: Horizon, n: number, t0: number): number {
  let ns = 0n;
  const batch: [string, number][] = [];
  for (let i = 0; i < n; i += BATCH) {
    batch.length = 0;
    for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push([key(j), j + 1]);
    const start = process.hrtime.bigint();
    h.add(t0 + i, batch);
    ns += process.hrtime.bigint() - start;
  }
  return Number(ns) / n;
}

function lookups(h: Horizon, n: number, from: number, span: number): number {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) keys.push(key(from + Math.floor(Math.random() * span)));
  let found = 0;
  const start = process.hrtime.bigint();
  for (const k of keys) if (h.get(k) !== undefined) found++;
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (found !== (from === 0 ? n : 0)) throw new Error(`lookups found ${found} of ${n}`);
  return ns;
}

function measure(name: string, make: () => Horizon, n: number): Record<string, number | string> {
  const before = memory();
  const h = make();
  const addNs = fill(h, n, 0);
  const bytes = memory() - before;
  const row: Record<string, number | string> = {
    name,
    ids: n,
    bytes_per_id: +(bytes / n).toFixed(1),
    ns_per_add: Math.round(addNs),
    ns_per_lookup_hit: Math.round(lookups(h, 200_000, 0, n)),
    ns_per_lookup_miss: Math.round(lookups(h, 200_000, n, n)),
  };
  if (h instanceof RecordHorizon) {
    row.table_bytes_per_id = +(h.bytes / n).toFixed(1);
    let start = process.hrtime.bigint();
    const chunks = h.serialize();
    row.serialize_s = +(Number(process.hrtime.bigint() - start) / 1e9).toFixed(3);
    row.chunks = chunks.length;
    row.snapshot_bytes_per_id = +(chunks.reduce((s, c) => s + c.byteLength, 0) / n).toFixed(1);
    start = process.hrtime.bigint();
    const restored = RecordHorizon.restore(chunks);
    row.restore_s = +(Number(process.hrtime.bigint() - start) / 1e9).toFixed(3);
    if (restored.size !== n || restored.get(key(n - 1)) !== n) throw new Error('restore lost keys');
  }
  console.log(JSON.stringify(row));
  return row;
}

function hashCost(): Record<string, number> {
  const keys = Array.from({ length: 200_000 }, (_, i) => key(i * 13));
  const out = new Int32Array(4);
  const time = (f: (k: string) => void): number => {
    for (const k of keys) f(k);
    const start = process.hrtime.bigint();
    for (const k of keys) f(k);
    return Math.round(Number(process.hrtime.bigint() - start) / keys.length);
  };
  return {
    murmur3_x86_128_ns: time((k) => hashKey(k, out)),
    crypto_md5_ns: time((k) => void cryptoHash('md5', k, 'buffer')),
    crypto_sha256_ns: time((k) => void cryptoHash('sha256', k, 'buffer')),
  };
}

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.cpus().length,
  node: process.version,
  gc: gc !== undefined,
  load1: +os.loadavg()[0]!.toFixed(2),
};
console.log(JSON.stringify(machine));
const hashing = hashCost();
console.log(JSON.stringify(hashing));
const rows = [];
for (const n of sizes.length > 0 ? sizes : [1_000_000, 5_000_000]) {
  rows.push(measure('RecordHorizon', () => new RecordHorizon(), n));
  rows.push(measure('Map', () => new MapHorizon(), n));
}
console.log(JSON.stringify({ machine, hashing, rows }));
