/**
 * A value read at most once per `ttlMs`, with one read in flight at a time: however many
 * dashboards and scrapers ask, the store sees one query per period (every FerretDB query
 * scans its whole collection, SPEC 11). A failed read is not kept.
 */
export class Cached<T> {
  private value: { at: number; data: T } | null = null;
  private inFlight: Promise<T> | null = null;

  constructor(private readonly ttlMs: number, private readonly load: () => Promise<T>, private readonly clock: () => number = Date.now) {}

  get(): Promise<T> {
    const now = this.clock();
    if (this.value && now - this.value.at < this.ttlMs) return Promise.resolve(this.value.data);
    this.inFlight ??= this.load()
      .then((data) => {
        this.value = { at: this.clock(), data };
        return data;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}
