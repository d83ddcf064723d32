import type { Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { TallyError } from '../../../shared/domain/index.js';
import type { AccountDoc } from '../../../shared/store/index.js';
import type { BillingService } from '../../../services/api/billing.js';
import { LedgerPages } from '../../../services/api/ledger.js';

/** A store with empty collections; every find is an (empty) async iterable, as the driver's cursors are. */
const emptyDb = {
  collection: () => ({
    find: () => {
      const cursor = { sort: () => cursor, batchSize: () => cursor, async *[Symbol.asyncIterator]() {} };
      return cursor;
    },
  }),
} as unknown as Db;

/** billing.account that takes `ms` and counts how many run at once. */
function slowBilling(ms: number) {
  const seen = { reads: 0, running: 0, most: 0 };
  const billing = {
    account: async (id: string) => {
      seen.reads++;
      seen.most = Math.max(seen.most, ++seen.running);
      await new Promise((r) => setTimeout(r, ms));
      seen.running--;
      return { _id: id, shard: 0, seq: 0, balance_micros: 0n } as AccountDoc;
    },
  } as unknown as BillingService;
  return { billing, seen };
}

describe('LedgerPages', () => {
  it('one read per page however many callers, and one page read at a time across pages', async () => {
    const { billing, seen } = slowBilling(20);
    const pages = new LedgerPages({ db: emptyDb, billing }, 60_000);
    const answers = await Promise.all([
      ...Array.from({ length: 30 }, () => pages.read('acct-1', 100)),
      ...Array.from({ length: 5 }, (_, i) => pages.read(`acct-${i + 2}`, 100)),
    ]);
    expect(seen.reads).toBe(6);
    expect(seen.most).toBe(1);
    expect(answers.every((a) => a.page.entries.length === 0 && a.page.next === null)).toBe(true);
  });

  it('refuses a page read when 16 are already waiting, instead of queueing without bound', async () => {
    const { billing } = slowBilling(30);
    const pages = new LedgerPages({ db: emptyDb, billing }, 60_000);
    const outcome = (i: number) =>
      pages.read(`acct-${i}`, 100).then(
        () => 'ok',
        (err: unknown) => (err instanceof TallyError ? err.code : 'other'),
      );
    const first = outcome(0);
    await new Promise((r) => setImmediate(r)); // the first read is running
    const rest = Array.from({ length: 17 }, (_, i) => outcome(i + 1));
    expect([await first, ...(await Promise.all(rest))].filter((r) => r === 'rate_limited')).toHaveLength(1);
  });

  it("forget drops an account's pages: the next read goes to the store", async () => {
    const { billing, seen } = slowBilling(1);
    const pages = new LedgerPages({ db: emptyDb, billing }, 60_000);
    await pages.read('acct-1', 10);
    await pages.read('acct-1', 10);
    pages.forget('acct-1');
    await pages.read('acct-1', 10);
    expect(seen.reads).toBe(2);
  });

  it('answers a malformed cursor with invalid_request before any read', async () => {
    const { billing, seen } = slowBilling(1);
    const pages = new LedgerPages({ db: emptyDb, billing }, 60_000);
    expect(() => pages.read('acct-1', 10, 'not-a-cursor')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(seen.reads).toBe(0);
  });
});
