import { describe, expect, it } from 'vitest';
import { listEvents } from '../../../shared/store/index.js';
import { verifyLedger } from '../../../shared/store/index.js';
import { ADMIN_TOKEN, call, pay, useApiStack } from '../../support/api.js';

/**
 * Issue #31 §2: an operator's adjustment is a ledger entry of kind `adjustment`, idempotent
 * on its id (the same body answers the same entry, another body 409), never first_paid_at;
 * the per-account low-balance threshold is a fold of the owner, and low_balance fires once
 * per crossing of the account's own line.
 */
describe('adjustments and per-account alert thresholds', () => {
  const ctx = useApiStack();
  const adjust = (account: string, body: unknown, options: { token?: string | null; headers?: Record<string, string> } = {}) =>
    call(ctx.stack.url, 'POST', `/v1/admin/accounts/${account}/adjustments`, { body, ...options });
  const account = async (id: string) => (await call(ctx.stack.url, 'GET', `/v1/accounts/${id}`)).body;

  it('credits once per adjustment_id: the replay answers the same entry, another body under the id is 409; first_paid_at and the tier untouched', async () => {
    // Money for an account not seen yet opens it, as a payment would, but never stamps first_paid_at.
    const opened = await adjust('adj-a', { adjustment_id: 'open-1', amount_micros: 1_000_000, reason: 'welcome credit' });
    expect(opened.body.account).toMatchObject({ balance_micros: 1_000_000, first_paid_at: null, discount_tier: 'none' });
    await pay(ctx.stack.url, { payment_id: 'adj-p1', account_id: 'adj-b', amount_micros: 5_000_000, paid_at: '2026-01-01T00:00:00Z' });

    const body = { adjustment_id: 'goodwill-1', amount_micros: '2500000', reason: 'outage credit, ticket 4711' };
    const first = await adjust('adj-b', body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      adjustment_id: 'goodwill-1',
      account_id: 'adj-b',
      amount_micros: 2_500_000,
      reason: body.reason,
      by: 'admin_token',
      duplicate: false,
    });
    expect(first.body.account.balance_micros).toBe(7_500_000);
    const replay = await adjust('adj-b', { ...body, amount_micros: 2_500_000 });
    expect(replay.status).toBe(200);
    expect({ ...replay.body, duplicate: false, account: null }).toEqual({ ...first.body, account: null });
    expect(replay.body.duplicate).toBe(true);
    expect(replay.body.account.balance_micros).toBe(7_500_000);
    for (const other of [
      { ...body, amount_micros: 1 },
      { ...body, reason: 'another reason' },
    ]) {
      const conflict = await adjust('adj-b', other);
      expect([conflict.status, conflict.body.error.code]).toEqual([409, 'conflict']);
    }
    const elsewhere = await adjust('adj-c', body);
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([409, 'conflict']);
    expect((await call(ctx.stack.url, 'PUT', '/v1/admin/accounts/adj-unknown/alerts', { body: { low_balance_micros: null } })).status).toBe(404);

    const debit = await adjust('adj-b', { adjustment_id: 'fix-2', amount_micros: -10_000_000, reason: 'double credit reversed' });
    expect(debit.body.account).toMatchObject({ balance_micros: -2_500_000, discount_tier: 'none' });

    const ledger = (await call(ctx.stack.url, 'GET', '/v1/accounts/adj-b/ledger')).body.entries;
    expect(ledger.filter((l: { kind: string }) => l.kind === 'adjustment').map((l: { reason: string; by: string }) => [l.reason, l.by])).toEqual([
      ['double credit reversed', 'admin_token'],
      ['outage credit, ticket 4711', 'admin_token'],
    ]);
    const view = await account('adj-b');
    expect(view.first_paid_at).toBe('2026-01-01T00:00:00.000Z');
    // The store's projections are written at the owner's next flush.
    let verified = await verifyLedger(ctx.mongo.db);
    for (let i = 0; i < 100 && verified.mismatches.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      verified = await verifyLedger(ctx.mongo.db);
    }
    expect(verified.mismatches).toEqual([]);
  });

  it('refuses what is not an explicit, in-range adjustment with its code', async () => {
    await pay(ctx.stack.url, { payment_id: 'adj-p2', account_id: 'adj-d', amount_micros: 1_000_000, paid_at: '2026-01-01T00:00:00Z' });
    const cases: [unknown, number, string][] = [
      [undefined, 400, 'selection_required'],
      [{}, 400, 'selection_required'],
      [{ adjustment_id: 'z', amount_micros: 0, reason: 'nothing' }, 400, 'invalid_request'],
      [{ adjustment_id: 'z', amount_micros: 1.5, reason: 'half' }, 400, 'invalid_request'],
      [{ adjustment_id: 'z', amount_micros: 1, reason: '' }, 400, 'invalid_request'],
      [{ adjustment_id: 'z', amount_micros: 1, reason: 'x'.repeat(501) }, 400, 'invalid_request'],
      [{ adjustment_id: 'has space', amount_micros: 1, reason: 'r' }, 400, 'invalid_request'],
      [{ adjustment_id: 'z', amount_micros: '9223372036854775808', reason: 'r' }, 422, 'amount_out_of_range'],
      [{ adjustment_id: 'z', amount_micros: '-9223372036854775809', reason: 'r' }, 422, 'amount_out_of_range'],
      // In Int64, but the balance would leave it: recorded and never applied (SPEC 2).
      [{ adjustment_id: 'z-wrap', amount_micros: '9223372036854775807', reason: 'r' }, 422, 'amount_out_of_range'],
    ];
    for (const [body, status, code] of cases) {
      const res = await adjust('adj-d', body);
      expect([res.status, res.body?.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect((await account('adj-d')).balance_micros).toBe(1_000_000);
    expect((await adjust('adj-d', { adjustment_id: 'n', amount_micros: 1, reason: 'r' }, { token: null })).status).toBe(401);
  });

  it('an operator session adjusts from its own origin (recorded as such), never from another', async () => {
    await pay(ctx.stack.url, { payment_id: 'adj-p3', account_id: 'adj-e', amount_micros: 1_000_000, paid_at: '2026-01-01T00:00:00Z' });
    const login = await fetch(`${ctx.stack.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${encodeURIComponent(ADMIN_TOKEN)}`,
    });
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const body = { adjustment_id: 'sess-1', amount_micros: 300_000, reason: 'from the dashboard' };
    const foreign = await adjust('adj-e', body, { token: null, headers: { cookie, origin: 'https://evil.example' } });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'forbidden_origin']);
    const own = await adjust('adj-e', body, { token: null, headers: { cookie, origin: ctx.stack.url } });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ by: 'operator_session', account: { balance_micros: 1_300_000 } });
  });

  it("low_balance fires once per crossing of the account's own threshold, which survives in the log", async () => {
    await pay(ctx.stack.url, { payment_id: 'adj-p4', account_id: 'adj-f', amount_micros: 5_000_000, paid_at: '2026-01-01T00:00:00Z' });
    const count = async () => (await listEvents(ctx.mongo.db, 'adj-f', 100)).filter((e) => e.type === 'low_balance').length;
    // Events reach the store at the owner's next flush: wait until at least `n` are there, then say how many.
    const lows = async (n: number) => {
      for (let i = 0; i < 100 && (await count()) < n; i++) await new Promise((r) => setTimeout(r, 100));
      return count();
    };
    expect(await lows(0)).toBe(0);
    const set = async (low: number | null) => call(ctx.stack.url, 'PUT', '/v1/admin/accounts/adj-f/alerts', { body: { low_balance_micros: low } });
    const raised = await set(10_000_000);
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ low_balance_micros: 10_000_000, account: { low_balance_micros: 10_000_000 } });
    expect(await lows(1)).toBe(1); // 5 USD < 10 USD: crossed by the threshold itself
    await set(20_000_000); // still below: no new crossing (the count after the next crossing says so)
    await adjust('adj-f', { adjustment_id: 'f-up', amount_micros: 30_000_000, reason: 'top up' });
    await adjust('adj-f', { adjustment_id: 'f-down', amount_micros: -20_000_000, reason: 'take back' });
    expect(await lows(2)).toBe(2); // 35 USD, then 15 USD < 20 USD: the second crossing
    const cleared = await set(null);
    expect(cleared.body.account.low_balance_micros).toBeNull();
    const bad = await set(-1);
    expect([bad.status, bad.body.error.code]).toEqual([400, 'invalid_request']);
    expect((await call(ctx.stack.url, 'PUT', '/v1/admin/accounts/adj-f/alerts', { body: {} })).status).toBe(400);
  });
});
