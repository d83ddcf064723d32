/**
 * A set of strings: in `tally quote`, the keys of the records already charged (recordKey:
 * account and id, SPEC 3), for de-duplication in stream order. An open-addressing hash
 * table over typed arrays, the keys' bytes kept end to end in one arena. Exact (a hash
 * match is confirmed byte by byte), 30 to 45 bytes per key plus the key itself where a
 * Set<string> takes about 100, and nothing for the garbage collector to trace, which is
 * what keeps `tally quote` fast past a million keys.
 */

const EMPTY = 0;
const utf8 = new TextEncoder();

/** FNV-1a over the bytes, then murmur3's finalizer so the low bits (the slot) mix well. */
function hashBytes(src: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class IdSet {
  /**
   * Two numbers a slot: the id's hash, then its entry number + 1 (0: empty). The hash in
   * the slot itself spares a probe (and a rehash) a trip to another array. At most half full.
   */
  private slots = new Int32Array(2 << 12);
  private starts = new Float64Array(1 << 11);
  private lengths = new Uint32Array(1 << 11);
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  private count = 0;
  private scratch = new Uint8Array(256);

  get size(): number {
    return this.count;
  }

  /** Adds the id; true the first time, false when it was there already. */
  add(id: string): boolean {
    if (id.length * 3 > this.scratch.length) this.scratch = new Uint8Array(id.length * 3);
    const { written } = utf8.encodeInto(id, this.scratch);
    return this.addBytes(this.scratch, 0, written);
  }

  /** add() for the id whose UTF-8 bytes are src[start, end). */
  addBytes(src: Uint8Array, start: number, end: number): boolean {
    const hash = hashBytes(src, start, end) | 0;
    const mask = (this.slots.length >> 1) - 1;
    let slot = hash & mask;
    for (let ref = this.slots[2 * slot + 1]!; ref !== EMPTY; ref = this.slots[2 * slot + 1]!) {
      if (this.slots[2 * slot] === hash && this.equals(ref - 1, src, start, end)) return false;
      slot = (slot + 1) & mask;
    }
    this.insert(slot, hash, src, start, end);
    return true;
  }

  private equals(entry: number, src: Uint8Array, start: number, end: number): boolean {
    const length = end - start;
    if (this.lengths[entry] !== length) return false;
    const at = this.starts[entry]!;
    for (let i = 0; i < length; i++) if (this.arena[at + i] !== src[start + i]) return false;
    return true;
  }

  private insert(slot: number, hash: number, src: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (this.used + length > this.arena.length) this.arena = grown(this.arena, this.used + length);
    this.arena.set(src.subarray(start, end), this.used);
    if (this.count === this.starts.length) {
      this.starts = grown(this.starts, this.count + 1);
      this.lengths = grown(this.lengths, this.count + 1);
    }
    const entry = this.count++;
    this.starts[entry] = this.used;
    this.lengths[entry] = length;
    this.used += length;
    this.slots[2 * slot] = hash;
    this.slots[2 * slot + 1] = entry + 1;
    if (this.count * 4 > this.slots.length) this.rehash();
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = (slots.length >> 1) - 1;
    for (let i = 0; i < old.length; i += 2) {
      const ref = old[i + 1]!;
      if (ref === EMPTY) continue;
      const hash = old[i]!;
      let slot = hash & mask;
      while (slots[2 * slot + 1] !== EMPTY) slot = (slot + 1) & mask;
      slots[2 * slot] = hash;
      slots[2 * slot + 1] = ref;
    }
    this.slots = slots;
  }
}

type Growable = Uint8Array | Uint32Array | Float64Array;

/** A copy at least `need` long, doubling. */
function grown<T extends Growable>(array: T, need: number): T {
  let length = array.length * 2;
  while (length < need) length *= 2;
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  return next;
}
