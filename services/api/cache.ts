import { apiViewReadSeconds } from '../../shared/runtime/index.js';

/**
 * The costFactor of reads that scan a collection growing with time (the shard log): they
 * take at most 1/21 (< 5%) of the store's time, whatever the request rate.
 */
export const SCAN_COST_FACTOR = 20;

/** Runs a cached view's store read, timed in tally_api_view_read_seconds{view}. */
export async function timedRead<T>(view: string, read: () => Promise<T>): Promise<T> {
  const end = apiViewReadSeconds.startTimer({ view });
  try {
    return await read();
  } finally {
    end();
  }
}

/** How the freshness of a cached read is decided. */
export interface CachePolicy {
  /** A value is reused for at least this long after its read ended. */
  ttlMs: number;
  /**
   * ...and for at least this many times as long as its read took. A read that costs the
   * store d ms is then repeated at most once per d x costFactor, so however large the
   * scanned collection grows (every FerretDB query scans it whole, SPEC 11), these reads
   * take at most 1/(costFactor + 1) of the store's time. @defaultValue 0 (ttlMs alone)
   */
  costFactor?: number;
  /** @defaultValue Date.now */
  clock?: () => number;
}

/**
 * A value read at most once per freshness period (CachePolicy), with one read in flight at
 * a time: however many dashboards, scrapers and clients ask, the store sees one query per
 * period. A failed read is not kept.
 */
export class Cached<T> {
  private value: { until: number; data: T } | null = null;
  private inFlight: Promise<T> | null = null;
  private readonly policy: Required<CachePolicy>;

  constructor(policy: CachePolicy, private readonly load: () => Promise<T>) {
    this.policy = { costFactor: 0, clock: Date.now, ...policy };
  }

  get(): Promise<T> {
    const { clock, ttlMs, costFactor } = this.policy;
    if (this.value && clock() < this.value.until) return Promise.resolve(this.value.data);
    if (this.inFlight) return this.inFlight;
    const started = clock();
    this.inFlight = this.load()
      .then((data) => {
        const ended = clock();
        this.value = { until: ended + Math.max(ttlMs, (ended - started) * costFactor), data };
        return data;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}

/**
 * Cached per key (one account's ledger page, say): at most one read per key per freshness
 * period, one in flight per key. It holds at most `maxKeys` keys, the oldest leaving
 * first, so callers that choose the keys cannot grow it without bound.
 */
export class KeyedCache<T> {
  private readonly entries = new Map<string, Cached<T>>();

  constructor(private readonly policy: CachePolicy, private readonly maxKeys: number) {}

  /** `load` reads the key's value; it is called only when no fresh value or read of the key exists. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = new Cached(this.policy, load);
      this.entries.set(key, entry);
      if (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    }
    return entry.get();
  }

  /** Drops every key that starts with `prefix`: the next get reads again (a write this process made). */
  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
