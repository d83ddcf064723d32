/** What a cached value depends on: a tag that changes with the data, and whether the data has settled. */
export interface CacheVersion {
  tag: string;
  settled: boolean;
}

/**
 * A value read at most once per `ttlMs`, with one read in flight at a time: however many
 * dashboards and scrapers ask, the store sees one query per period (every FerretDB query
 * scans its whole collection, SPEC 11). A failed read is not kept.
 *
 * With `version`, the value also honours SPEC 9 "settled means readable": it is served
 * past `ttlMs` while the tag has not moved, and read again at once, whatever its age, when
 * the tag moved and everything has settled (so a dashboard opened the moment stats says
 * pending 0 shows every charge; while records still flow, `ttlMs` bounds the reads).
 */
export class Cached<T> {
  private value: { at: number; tag: string | null; data: T } | null = null;
  private inFlight: Promise<T> | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
    private readonly clock: () => number = Date.now,
    private readonly version?: () => Promise<CacheVersion>,
  ) {}

  async get(): Promise<T> {
    const current = this.version ? await this.version() : null;
    const cached = this.value;
    if (cached && this.fresh(cached, current)) return cached.data;
    this.inFlight ??= this.load()
      .then((data) => {
        // The tag read before the load: a change during the load makes the next get read again.
        this.value = { at: this.clock(), tag: current?.tag ?? null, data };
        return data;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private fresh(cached: { at: number; tag: string | null }, current: CacheVersion | null): boolean {
    if (current === null) return this.clock() - cached.at < this.ttlMs;
    if (cached.tag === current.tag) return true;
    return !current.settled && this.clock() - cached.at < this.ttlMs;
  }
}
