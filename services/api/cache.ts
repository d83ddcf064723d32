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

/** What a cached value depends on: a tag that changes with the data, and whether the data has settled. */
export interface CacheVersion {
  tag: string;
  settled: boolean;
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
  /**
   * SPEC 9 "settled means readable": with it, a value is also served past its freshness
   * while the tag has not moved, and read again at once, whatever its age, when the tag
   * moved and everything has settled (a dashboard opened the moment stats says pending 0
   * shows every charge; while records still flow, the freshness period bounds the reads).
   */
  version?: () => Promise<CacheVersion>;
}

/**
 * A value read at most once per freshness period (CachePolicy), with one read in flight at
 * a time: however many dashboards, scrapers and clients ask, the store sees one query per
 * period. A failed read is not kept.
 */
export class Cached<T> {
  private value: { until: number; tag: string | null; data: T } | null = null;
  private inFlight: Promise<T> | null = null;
  private readonly policy: Required<Omit<CachePolicy, 'version'>> & Pick<CachePolicy, 'version'>;

  constructor(
    policy: CachePolicy,
    private readonly load: () => Promise<T>,
  ) {
    this.policy = { costFactor: 0, clock: Date.now, ...policy };
  }

  async get(): Promise<T> {
    const { clock, ttlMs, costFactor } = this.policy;
    const current = this.policy.version ? await this.policy.version() : null;
    if (this.value && this.fresh(this.value, current)) return this.value.data;
    if (this.inFlight) return this.inFlight;
    const started = clock();
    this.inFlight = this.load()
      .then((data) => {
        const ended = clock();
        // The tag read before the load: a change during the load makes the next get read again.
        this.value = { until: ended + Math.max(ttlMs, (ended - started) * costFactor), tag: current?.tag ?? null, data };
        return data;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private fresh(cached: { until: number; tag: string | null }, current: CacheVersion | null): boolean {
    const young = this.policy.clock() < cached.until;
    if (current === null) return young;
    if (cached.tag === current.tag) return true;
    return !current.settled && young;
  }
}

/**
 * Cached per key (one account's ledger page, say): at most one read per key per freshness
 * period, one in flight per key. It holds at most `maxKeys` keys, the oldest leaving
 * first, so callers that choose the keys cannot grow it without bound.
 */
export class KeyedCache<T> {
  private readonly entries = new Map<string, Cached<T>>();

  constructor(
    private readonly policy: CachePolicy,
    private readonly maxKeys: number,
  ) {}

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
