import type { Db } from 'mongodb';
import { TallyError } from '../../shared/domain/index.js';
import { InvalidCursorError, parseLedgerCursor, readAccountLedger, type AccountDoc, type LedgerPage } from '../../shared/store/index.js';
import type { BillingService } from './billing.js';
import { KeyedCache, SCAN_COST_FACTOR, timedRead } from './cache.js';

/** Pages kept at once: a caller walking cursors cannot grow the cache past this. */
const MAX_CACHED_PAGES = 1000;
/** Page reads waiting for the one in flight; past it a request is refused rather than queued. */
const MAX_WAITING_READS = 16;

export interface AccountLedgerPage {
  account: AccountDoc;
  page: LedgerPage;
}

/**
 * Ledger pages for `GET /v1/accounts/:id/ledger` and the account page. A page read scans
 * the shard log (every FerretDB query scans its collection, SPEC 11: about 2 s of store
 * CPU at 100k records), so:
 * - a page is kept per (account, limit, cursor) for LEDGER_CACHE_MS and at least
 *   SCAN_COST_FACTOR times as long as its read took, one read in flight per page: clients
 *   polling one account cost the store under 5% of its time;
 * - this process reads one page at a time, at most MAX_WAITING_READS waiting, so callers
 *   asking for many different pages queue behind one scan instead of running many at once;
 * - a write this process makes for the account (payment, purchase, VM) drops its pages.
 */
export class LedgerPages {
  private readonly cache: KeyedCache<AccountLedgerPage>;
  private queue: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(
    private readonly deps: { db: Db; billing: BillingService },
    ttlMs: number,
  ) {
    this.cache = new KeyedCache({ ttlMs, costFactor: SCAN_COST_FACTOR }, MAX_CACHED_PAGES);
  }

  /** One page, newest first; `after` is the previous page's `next`. account_not_found, invalid_request, rate_limited. */
  read(accountId: string, limit: number, after?: string): Promise<AccountLedgerPage> {
    let cursor = null;
    try {
      cursor = after === undefined ? null : parseLedgerCursor(after);
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new TallyError('invalid_request', err.message);
      throw err;
    }
    return this.cache.get(`${accountId}\n${limit}\n${after ?? ''}`, () =>
      this.oneAtATime(() =>
        timedRead('ledger', async () => {
          const account = await this.deps.billing.account(accountId);
          return { account, page: await readAccountLedger(this.deps.db, account, { limit, cursor }) };
        }),
      ),
    );
  }

  forget(accountId: string): void {
    this.cache.forget(`${accountId}\n`);
  }

  private oneAtATime<T>(read: () => Promise<T>): Promise<T> {
    if (this.waiting >= MAX_WAITING_READS)
      return Promise.reject(new TallyError('rate_limited', 'too many ledger pages asked for at once; retry in a few seconds'));
    this.waiting++;
    const run = this.queue.then(() => {
      this.waiting--;
      return read();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
