/**
 * One of the RecordHorizon's 256 partitions (by the top 8 bits of the key's hash). An
 * entry is 20 bytes: the hash (h0 alone in one array, so a probe reads one cache line;
 * h1, h2, h3 in another), whose last 8 bits are replaced by the entry's epoch tag, and the
 * signed stream sequence (seqs.ts). Two tables:
 * - packed: the bulk, no slack, grouped by the next bits of h0 with a directory of where
 *   each group starts (8 to 16 entries a group, under half a byte an entry);
 * - recent: where keys go, open addressing with linear probing, sized for 1/16 of packed.
 * When recent is full, both merge into a new packed (dropping the entries of dead epochs)
 * and recent starts empty: a partition holds 1/256 of the keys, so a merge is short.
 */
import { Seqs } from './seqs.js';

/** h3's bits that carry the epoch tag instead of the hash. */
export const TAG_MASK = 0xff;
const RECENT_SHARE = 16;
const MIN_RECENT = 16;
const LOAD = 0.8;

/** The horizon's epochs as the partitions see them, by tag. */
export interface EpochTags {
  /** 1 where the tag is a live epoch's. */
  readonly alive: Uint8Array;
  /** Entries stored with each tag, live or not. */
  readonly stored: Float64Array;
}

export interface Table {
  h0: Int32Array;
  hx: Int32Array;
  seqs: Seqs;
}

/** Enough directory bits for groups of 8 to 16 entries on average. */
function groupBits(count: number): number {
  return Math.min(24, Math.max(1, Math.floor(Math.log2(count / 8))));
}

function table(cap: number, base = 0): Table {
  return { h0: new Int32Array(cap), hx: new Int32Array(3 * cap), seqs: new Seqs(new Int32Array(cap), base) };
}

export class Partition {
  packed: Table;
  private shift = 0;
  private dir = new Uint32Array(0);
  recent: Table;
  recentCount = 0;
  private recentLimit = MIN_RECENT;

  constructor(
    private readonly epochs: EpochTags,
    packed: Table = table(0),
    recent?: Table,
  ) {
    this.packed = packed;
    this.index();
    this.recentLimit = Math.max(MIN_RECENT, Math.ceil(packed.h0.length / RECENT_SHARE));
    this.recent = recent ?? table(Math.ceil(this.recentLimit / LOAD) + 1);
    if (recent) {
      for (let i = 0; i < recent.h0.length; i++) if (recent.h0[i] !== 0) this.recentCount++;
      if (this.recentCount >= recent.h0.length) throw new Error('horizon recent table has no empty slot');
    }
  }

  /** Entries stored, live or not. */
  get stored(): number {
    return this.packed.h0.length + this.recentCount;
  }

  get bytes(): number {
    const { packed: p, recent: r } = this;
    return p.h0.byteLength + p.hx.byteLength + p.seqs.words.byteLength + this.dir.byteLength + r.h0.byteLength + r.hx.byteLength + r.seqs.words.byteLength;
  }

  /** The live entry's sequence, or undefined. `k` is the hash with its tag bits cleared. */
  get(k: Int32Array): number | undefined {
    const alive = this.epochs.alive;
    let i = this.probeRecent(k);
    if (i >= 0 && alive[this.recent.hx[3 * i + 2]! & TAG_MASK] === 1) return this.recent.seqs.get(i);
    i = this.findPacked(k);
    if (i >= 0 && alive[this.packed.hx[3 * i + 2]! & TAG_MASK] === 1) return this.packed.seqs.get(i);
    return undefined;
  }

  /** Adds the key with the tag unless it is live here already; false when it was. */
  insert(k: Int32Array, seq: number, tag: number): boolean {
    const { alive, stored } = this.epochs;
    const r = this.recent;
    let slot = this.probeRecent(k);
    if (slot >= 0) {
      const old = r.hx[3 * slot + 2]! & TAG_MASK;
      if (alive[old] === 1) return false;
      stored[old]!--;
    } else {
      const j = this.findPacked(k);
      if (j >= 0 && alive[this.packed.hx[3 * j + 2]! & TAG_MASK] === 1) return false;
      slot = ~slot;
      this.recentCount++;
    }
    r.h0[slot] = k[0]!;
    r.hx[3 * slot] = k[1]!;
    r.hx[3 * slot + 1] = k[2]!;
    r.hx[3 * slot + 2] = k[3]! | tag;
    r.seqs.set(slot, seq);
    stored[tag]!++;
    if (this.recentCount >= this.recentLimit) this.merge();
    return true;
  }

  /** Packs the live entries of both tables into a new packed table; recent starts empty. */
  merge(): void {
    const { alive, stored } = this.epochs;
    const sources = [this.packed, this.recent];
    let count = 0;
    for (const s of sources) {
      for (let i = 0; i < s.h0.length; i++) {
        if (s.h0[i] === 0) continue;
        const tag = s.hx[3 * i + 2]! & TAG_MASK;
        if (alive[tag] === 1) count++;
        else stored[tag]!--;
      }
    }
    const bits = groupBits(count);
    const shift = 32 - bits;
    const dir = new Uint32Array((1 << bits) + 1);
    for (const s of sources) {
      for (let i = 0; i < s.h0.length; i++) if (s.h0[i] !== 0 && alive[s.hx[3 * i + 2]! & TAG_MASK] === 1) dir[((s.h0[i]! << 8) >>> shift) + 1]!++;
    }
    for (let b = 1; b < dir.length; b++) dir[b]! += dir[b - 1]!;
    const next = dir.slice(0, dir.length - 1);
    const base = this.packed.seqs.base || this.recent.seqs.base;
    const out = table(count, base);
    for (const s of sources) {
      // Words of the same base copy as they are (the usual case: recent takes packed's base).
      const same = s.seqs.base === base && s.seqs.words instanceof Int32Array ? s.seqs.words : null;
      for (let i = 0; i < s.h0.length; i++) {
        const v = s.h0[i]!;
        if (v === 0 || alive[s.hx[3 * i + 2]! & TAG_MASK] !== 1) continue;
        const j = next[(v << 8) >>> shift]!++;
        out.h0[j] = v;
        out.hx[3 * j] = s.hx[3 * i]!;
        out.hx[3 * j + 1] = s.hx[3 * i + 1]!;
        out.hx[3 * j + 2] = s.hx[3 * i + 2]!;
        if (same && out.seqs.words instanceof Int32Array) out.seqs.words[j] = same[i]!;
        else out.seqs.set(j, s.seqs.get(i));
      }
    }
    this.packed = out;
    this.shift = shift;
    this.dir = dir;
    this.recentLimit = Math.max(MIN_RECENT, Math.ceil(count / RECENT_SHARE));
    this.recent = table(Math.ceil(this.recentLimit / LOAD) + 1, out.seqs.base);
    this.recentCount = 0;
  }

  /** The slot of recent that holds the hash (live or not), or ~slot of the empty slot where it would go. */
  private probeRecent(k: Int32Array): number {
    const { h0, hx } = this.recent;
    const cap = h0.length;
    const k0 = k[0]!;
    // (k1 >>> 11) * cap < 2^53: the slot is exact and below cap.
    let i = Math.floor(((k[1]! >>> 11) * cap) / 2_097_152);
    for (;;) {
      const v = h0[i]!;
      if (v === 0) return ~i;
      if (v === k0 && hx[3 * i] === k[1] && hx[3 * i + 1] === k[2] && (hx[3 * i + 2]! & ~TAG_MASK) === k[3]) return i;
      if (++i === cap) i = 0;
    }
  }

  /** The index in packed that holds the hash (live or not), or -1. */
  private findPacked(k: Int32Array): number {
    const { h0, hx } = this.packed;
    const k0 = k[0]!;
    const b = (k0 << 8) >>> this.shift;
    for (let i = this.dir[b]!, end = this.dir[b + 1]!; i < end; i++) {
      if (h0[i] === k0 && hx[3 * i] === k[1] && hx[3 * i + 1] === k[2] && (hx[3 * i + 2]! & ~TAG_MASK) === k[3]) return i;
    }
    return -1;
  }

  /** Builds packed's directory; throws when packed is not grouped by hash (a corrupt snapshot). */
  private index(): void {
    const h0 = this.packed.h0;
    const bits = groupBits(h0.length);
    this.shift = 32 - bits;
    this.dir = new Uint32Array((1 << bits) + 1);
    let last = 0;
    for (let i = 0; i < h0.length; i++) {
      const b = (h0[i]! << 8) >>> this.shift;
      if (b < last || h0[i] === 0) throw new Error('horizon packed table is not grouped by hash');
      last = b;
      this.dir[b + 1]!++;
    }
    for (let b = 1; b < this.dir.length; b++) this.dir[b]! += this.dir[b - 1]!;
  }
}
