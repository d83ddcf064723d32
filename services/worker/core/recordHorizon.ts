import { hashKey } from './horizon/hash128.js';
import { Partition, TAG_MASK, type EpochTags } from './horizon/partition.js';
import { fromChunks, HorizonSnapshotError, toChunks, type HorizonImage } from './horizon/snapshot.js';

const PARTITIONS = 256;
/** About this many epochs make a horizon: a key is forgotten at most 1/32 of a horizon late. */
const EPOCHS = 32;
const MIN_EPOCH = 4096;
const TAGS = TAG_MASK + 1;

/**
 * The records a shard has charged or refused inside the dedup horizon (SPEC 9), by
 * `recordKey(account, id)`, each with the JetStream sequence of the message that carried
 * it: the same key from the same message again is a redelivery (NATS, a retried job, a
 * re-added one), charged nothing and not counted; the same key from another message is a
 * duplicate. A refused record (`amount_out_of_range`) keeps its sequence negated, so a
 * redelivery of it is refused again rather than charged. Sequence 0 means unknown (a log
 * entry written before sequences were kept): any repeat then counts as a duplicate.
 *
 * A key is kept as a 120-bit hash of it (hash128.ts) and its sequence: 20 bytes in one of
 * 256 partitions (partition.ts), about 22 bytes a key with the tables' slack. Keys are
 * added in epochs (a new one after 1/32 of the keys held, or 1/32 of the horizon), and
 * expire in the order they were added, an epoch at a time: a key is forgotten once its
 * epoch's newest batch is past the horizon, so at most 1/32 of a horizon late. Two keys
 * are taken for one when their hashes are equal: with n keys held, n / 2^120 per lookup,
 * below 1e-12 a year at 10k records/s (docs/pipeline.md, "The dedup horizon's cost").
 */
export class RecordHorizon {
  private readonly tags: EpochTags = { alive: new Uint8Array(TAGS), stored: new Float64Array(TAGS) };
  private readonly parts: Partition[] = [];
  /** By tag: keys added in the epoch, its first and newest batch. */
  private readonly epochKeys = new Float64Array(TAGS);
  private readonly firstAt = new Float64Array(TAGS).fill(Infinity);
  private readonly lastAt = new Float64Array(TAGS).fill(-Infinity);
  /** Epochs live..current (numbers; tag = number & TAG_MASK) are live; none when live > current. */
  private live = 0;
  private current = 0;
  private epochLimit = MIN_EPOCH;
  private count = 0;
  private addedCount = 0;
  private newestAt = -Infinity;
  private readonly k = new Int32Array(4);

  constructor() {
    for (let p = 0; p < PARTITIONS; p++) this.parts.push(new Partition(this.tags));
    this.tags.alive[0] = 1;
  }

  get size(): number {
    return this.count;
  }

  /** Keys added since this horizon was made or restored (expiry does not lower it). */
  get added(): number {
    return this.addedCount;
  }

  /** The bytes held by the tables' arrays. */
  get bytes(): number {
    return this.parts.reduce((n, p) => n + p.bytes, 0);
  }

  /** The signed stream sequence a key was seen with, or undefined when it is not inside the horizon. */
  get(key: string): number | undefined {
    this.hash(key);
    return this.parts[this.k[0]! >>> 24]!.get(this.k);
  }

  /** Adds one applied batch's keys (charged: +seq, refused: -seq), seen at `at`. Keys already present keep their place. */
  add(at: number, keys: Iterable<readonly [string, number]>): void {
    for (const [key, seq] of keys) {
      this.hash(key);
      if (this.live > this.current || this.epochKeys[this.current & TAG_MASK]! >= this.epochLimit) this.nextEpoch();
      const tag = this.current & TAG_MASK;
      if (!this.parts[this.k[0]! >>> 24]!.insert(this.k, seq, tag)) continue;
      this.epochKeys[tag]!++;
      this.count++;
      this.addedCount++;
      if (at < this.firstAt[tag]!) this.firstAt[tag] = at;
      if (at > this.lastAt[tag]!) this.lastAt[tag] = at;
    }
    if (at > this.newestAt) this.newestAt = at;
  }

  /** Forgets the epochs whose batches were all added before `before`, oldest first; returns how many keys went. */
  expire(before: number): number {
    let removed = 0;
    while (this.live <= this.current && this.lastAt[this.live & TAG_MASK]! < before) {
      const tag = this.live++ & TAG_MASK;
      removed += this.epochKeys[tag]!;
      this.count -= this.epochKeys[tag]!;
      this.tags.alive[tag] = 0;
    }
    const tag = this.current & TAG_MASK;
    // An epoch spanning 1/32 of the horizon ends, so that it goes in time.
    if (this.live <= this.current && this.epochKeys[tag]! > 0 && this.newestAt - this.firstAt[tag]! >= (this.newestAt - before) / EPOCHS) this.nextEpoch();
    const stored = this.parts.reduce((n, p) => n + p.stored, 0);
    // Dead entries go when their partition merges; a shard gone quiet has no merges, so:
    if (stored - this.count > Math.max(MIN_EPOCH, this.count / 8)) for (const p of this.parts) p.merge();
    return removed;
  }

  /** The horizon as binary chunks of at most 4 MiB each (horizon/snapshot.ts). */
  serialize(): Buffer[] {
    return toChunks(this.image());
  }

  /** A horizon equal to the one that wrote `chunks`; throws HorizonSnapshotError on a malformed snapshot. */
  static restore(chunks: readonly Uint8Array[]): RecordHorizon {
    const image = fromChunks(chunks);
    if (image.partitions.length !== PARTITIONS) throw new HorizonSnapshotError('horizon snapshot has another partition count');
    const h = new RecordHorizon();
    h.epochKeys.set(image.epochKeys);
    h.firstAt.set(image.firstAt);
    h.lastAt.set(image.lastAt);
    h.live = image.live;
    h.current = image.current;
    h.epochLimit = image.epochLimit;
    h.newestAt = image.newestAt;
    h.tags.alive.fill(0);
    for (let e = h.live; e <= h.current; e++) {
      h.tags.alive[e & TAG_MASK] = 1;
      h.count += h.epochKeys[e & TAG_MASK]!;
    }
    image.partitions.forEach(({ packed, recent }, p) => {
      for (const t of [packed, recent]) {
        for (let i = 0; i < t.h0.length; i++) {
          if (t.h0[i] === 0) continue;
          if (t.h0[i]! >>> 24 !== p) throw new HorizonSnapshotError('horizon snapshot entry in the wrong partition');
          h.tags.stored[t.hx[3 * i + 2]! & TAG_MASK]!++;
        }
      }
      try {
        h.parts[p] = new Partition(h.tags, packed, recent);
      } catch (err) {
        throw new HorizonSnapshotError((err as Error).message);
      }
    });
    return h;
  }

  private image(): HorizonImage {
    const { epochKeys, firstAt, lastAt, live, current, epochLimit, newestAt } = this;
    return { newestAt, live, current, epochLimit, epochKeys, firstAt, lastAt, partitions: this.parts.map((p) => ({ packed: p.packed, recent: p.recent })) };
  }

  private hash(key: string): void {
    const k = this.k;
    hashKey(key, k);
    // 0 marks an empty slot (a first word of 0 is kept as 1); h3's last bits hold the epoch.
    if (k[0] === 0) k[0] = 1;
    k[3]! &= ~TAG_MASK;
  }

  private nextEpoch(): void {
    if (this.current - this.live >= TAG_MASK) return; // every tag is live: this epoch goes on
    const next = this.current + 1;
    const tag = next & TAG_MASK;
    // The tag was a dead epoch's: its entries must go before the tag means the new one.
    if (this.tags.stored[tag]! > 0) for (const p of this.parts) p.merge();
    this.current = next;
    this.tags.alive[tag] = 1;
    this.epochKeys[tag] = 0;
    this.firstAt[tag] = Infinity;
    this.lastAt[tag] = -Infinity;
    this.epochLimit = Math.max(MIN_EPOCH, Math.ceil(this.count / EPOCHS));
  }
}
