import type { Db } from 'mongodb';
import { TallyError } from '../../shared/domain/index.js';
import { InvalidCursorError, parseLedgerCursor, readAccountLedger, type AccountDoc, type LedgerPage } from '../../shared/store/index.js';
import type { BillingService } from './billing.js';
import { KeyedCache } from './cache.js';

/** Pages kept at once: a caller walking cursors cannot grow the cache past this. */
const MAX_CACHED_PAGES = 1000;

export interface AccountLedgerPage {
  account: AccountDoc;
  page: LedgerPage;
}

/**
 * Ledger pages for `GET /v1/accounts/:id/ledger` and the account page. A page reads the
 * account projection and the shard log (every FerretDB query scans its collection, SPEC
 * 11), so pages are kept per (account, limit, cursor) for LEDGER_CACHE_MS, one read in
 * flight per page: twenty clients polling one account cost about one read per interval.
 * A write this process makes for the account (payment, purchase, VM) drops its pages at once.
 */
export class LedgerPages {
  private readonly cache: KeyedCache<AccountLedgerPage>;

  constructor(private readonly deps: { db: Db; billing: BillingService }, ttlMs: number) {
    this.cache = new KeyedCache(ttlMs, MAX_CACHED_PAGES);
  }

  /** One page, newest first; `after` is the previous page's `next`. account_not_found, invalid_request. */
  read(accountId: string, limit: number, after?: string): Promise<AccountLedgerPage> {
    let cursor = null;
    try {
      cursor = after === undefined ? null : parseLedgerCursor(after);
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new TallyError('invalid_request', err.message);
      throw err;
    }
    return this.cache.get(`${accountId}\n${limit}\n${after ?? ''}`, async () => {
      const account = await this.deps.billing.account(accountId);
      return { account, page: await readAccountLedger(this.deps.db, account, { limit, cursor }) };
    });
  }

  forget(accountId: string): void {
    this.cache.forget(`${accountId}\n`);
  }
}
