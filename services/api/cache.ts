/**
 * A value read at most once per `ttlMs`, with one read in flight at a time: however many
 * dashboards, scrapers and clients ask, the store sees one query per period (every
 * FerretDB query scans its whole collection, SPEC 11). A failed read is not kept.
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

/**
 * Cached per key (one account's ledger page, say): at most one read per key per `ttlMs`,
 * one in flight per key. It holds at most `maxKeys` keys, the oldest leaving first, so
 * callers that choose the keys cannot grow it without bound.
 */
export class KeyedCache<T> {
  private readonly entries = new Map<string, Cached<T>>();

  constructor(private readonly ttlMs: number, private readonly maxKeys: number, private readonly clock: () => number = Date.now) {}

  /** `load` reads the key's value; it is called only when no fresh value or read of the key exists. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = new Cached(this.ttlMs, load, this.clock);
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
