import { verifyServed } from '../../support/stream.js';
import { describe, expect, it } from 'vitest';
import { ShardQueues, redisConnection, shardOf } from '../../../shared/queue/index.js';
import type { LedgerDoc } from '../../../shared/store/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';
import { startWorker } from '../../../services/worker/main.js';
import { testLogger } from '../../support/servers.js';
import { signBody } from '../../../services/api/index.js';
import { ADMIN_TOKEN, WEBHOOK_SECRET, call, pay, useApiStack } from '../../support/api.js';

/**
 * The payment webhook (SPEC 7, 13): signed over the raw body, credited once per payment id
 * even across a crash between the ledger insert and the fold job, first_paid_at set once.
 */
describe('POST /v1/webhooks/payment', () => {
  const api = useApiStack(() => ({ ADMIN_TOKEN, WEBHOOK_SECRET }));

  const payment = (id: string, account: string, amount: number, paidAt: string) => ({
    payment_id: id,
    account_id: account,
    amount_micros: amount,
    paid_at: paidAt,
  });

  it('refuses a missing, malformed or wrong signature with 401 unauthorized and credits nothing', async () => {
    const body = JSON.stringify(payment('p-sig', 'acct-sig', 5_000_000, '2026-01-01T00:00:00Z'));
    const wrongSecret = signBody(body, 'another-secret-0123456789');
    for (const signature of ['', 'sha256=zz', `sha256=${'0'.repeat(64)}`, wrongSecret]) {
      const res = await pay(api.stack.url, body, signature);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    // Signed over other bytes (same JSON, different spacing): the signature covers the raw body.
    const spaced = JSON.stringify(JSON.parse(body), null, 2);
    expect((await pay(api.stack.url, spaced, signBody(body, WEBHOOK_SECRET))).status).toBe(401);
    expect(await api.mongo.db.collection(COLLECTIONS.ledger).countDocuments({ account_id: 'acct-sig' })).toBe(0);
    expect((await call(api.stack.url, 'GET', '/v1/accounts/acct-sig')).body.error.code).toBe('account_not_found');
  });

  it('credits a payment once: a replay answers 200 duplicate and the balance stays', async () => {
    const p = payment('p-once', 'acct-once', 7_000_000, '2026-02-01T10:00:00Z');
    const first = await pay(api.stack.url, p);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ payment_id: 'p-once', duplicate: false, folded: true });
    expect(first.body.account).toMatchObject({ account_id: 'acct-once', balance_micros: 7_000_000, first_paid_at: '2026-02-01T10:00:00.000Z' });
    const replays = await Promise.all(Array.from({ length: 5 }, () => pay(api.stack.url, p)));
    for (const r of replays) {
      expect(r.status).toBe(200);
      expect(r.body.duplicate).toBe(true);
      expect(r.body.account.balance_micros).toBe(7_000_000);
    }
    expect((await call(api.stack.url, 'GET', '/v1/accounts/acct-once')).body.balance_micros).toBe(7_000_000);
  });

  it('answers 409 payment_conflict when a payment id comes back with another amount or account', async () => {
    await pay(api.stack.url, payment('p-conflict', 'acct-c', 1_000_000, '2026-02-01T00:00:00Z'));
    const other = await pay(api.stack.url, payment('p-conflict', 'acct-c', 2_000_000, '2026-02-01T00:00:00Z'));
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('payment_conflict');
    const moved = await pay(api.stack.url, payment('p-conflict', 'acct-d', 1_000_000, '2026-02-01T00:00:00Z'));
    expect(moved.body.error.code).toBe('payment_conflict');
    expect((await call(api.stack.url, 'GET', '/v1/accounts/acct-c')).body.balance_micros).toBe(1_000_000);
  });

  it('sets first_paid_at from the first credited payment and never moves it', async () => {
    await pay(api.stack.url, payment('p-f1', 'acct-first', 1_000_000, '2026-03-10T00:00:00Z'));
    // Later payments, one with an earlier paid_at, and a replay of the first.
    await pay(api.stack.url, payment('p-f2', 'acct-first', 1_000_000, '2026-03-01T00:00:00Z'));
    await pay(api.stack.url, payment('p-f3', 'acct-first', 1_000_000, '2026-04-01T00:00:00Z'));
    const replay = await pay(api.stack.url, payment('p-f1', 'acct-first', 1_000_000, '2026-03-10T00:00:00Z'));
    expect(replay.body.account).toMatchObject({ first_paid_at: '2026-03-10T00:00:00.000Z', balance_micros: 3_000_000 });
  });

  it('accepts amounts above 2^53 as decimal strings and answers them as strings', async () => {
    const big = (2n ** 60n).toString();
    const res = await pay(api.stack.url, { payment_id: 'p-big', account_id: 'acct-big', amount_micros: big, paid_at: '2026-01-01T00:00:00Z' });
    expect(res.status).toBe(200);
    expect(res.body.amount_micros).toBe(big);
    expect(res.body.account.balance_micros).toBe(big);
  });

  it('folds over NATS while the shard has an owner (no BullMQ job), through a fold job while it has none', async () => {
    const redis = redisConnection(api.servers.redisUrl);
    const queues = new ShardQueues(redis, api.config.mongoDb, api.config.shards);
    const jobOf = (paymentId: string, account: string) => queues.forShard(shardOf(account, api.config.shards)).getJob(`fold-payment~${paymentId}`);
    try {
      const fast = await pay(api.stack.url, payment('p-nats', 'acct-nats', 3_000_000, '2026-05-01T00:00:00Z'));
      expect(fast.body).toMatchObject({ duplicate: false, folded: true, account: { balance_micros: 3_000_000 } });
      expect(await jobOf('p-nats', 'acct-nats')).toBeUndefined();

      // No owner listens: the request finds no responder and the durable job is added; the
      // answer waits its 5 s and says accepted, not folded yet; the next owner folds the job.
      await api.stack.worker.stop();
      let slow;
      try {
        slow = await pay(api.stack.url, payment('p-job', 'acct-nats', 2_000_000, '2026-05-01T00:00:00Z'));
      } finally {
        api.stack.worker = await startWorker(api.config, api.servers, testLogger());
      }
      expect(slow.status).toBe(202);
      expect(slow.body).toMatchObject({ duplicate: false, folded: false });
      await expect.poll(async () => (await call(api.stack.url, 'GET', '/v1/accounts/acct-nats')).body.balance_micros, { timeout: 10_000 }).toBe(5_000_000);
      await expect.poll(async () => (await jobOf('p-job', 'acct-nats'))?.getState(), { timeout: 10_000 }).toBe('completed');
    } finally {
      await queues.close();
      redis.disconnect();
    }
  });

  it('heals a crash between the ledger insert and the fold job: by the provider retry, and by the next shard owner', async () => {
    const insertOnly = async (id: string, account: string, amount: bigint) => {
      const doc: LedgerDoc = {
        _id: `payment:${id}`,
        kind: 'payment',
        account_id: account,
        shard: shardOf(account, api.config.shards),
        amount_micros: amount,
        paid_at: new Date('2026-05-01T00:00:00Z'),
        at: new Date(),
      };
      await api.mongo.db.collection<LedgerDoc>(COLLECTIONS.ledger).insertOne(doc);
    };
    // The API died right after its insert: the provider retries and the retry folds it, once.
    await insertOnly('p-crash-1', 'acct-crash', 4_000_000n);
    const retry = await pay(api.stack.url, payment('p-crash-1', 'acct-crash', 4_000_000, '2026-05-01T00:00:00Z'));
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ duplicate: true, folded: true });
    expect(retry.body.account.balance_micros).toBe(4_000_000);

    // No retry comes: the shard's next owner folds what is left unfolded when it takes over.
    await insertOnly('p-crash-2', 'acct-crash', 1_000_000n);
    await api.stack.worker.stop();
    const next = await startWorker(api.config, api.servers, testLogger());
    try {
      await expect.poll(async () => (await call(api.stack.url, 'GET', '/v1/accounts/acct-crash')).body.balance_micros, { timeout: 10_000 }).toBe(5_000_000);
      const again = await pay(api.stack.url, payment('p-crash-2', 'acct-crash', 1_000_000, '2026-05-01T00:00:00Z'));
      expect(again.body.account.balance_micros).toBe(5_000_000);
      const { mismatches } = await verifyServed(api.config, api.servers, api.mongo.db);
      expect(mismatches).toEqual([]);
    } finally {
      await next.stop();
      // Its commands monitored: the tick below must not read the shard log.
      api.stack.worker = await startWorker(api.config, api.servers, testLogger(), { mongoOptions: { monitorCommands: true } });
    }

    // Nor does the owner change: the next ladder tick folds what is left unfolded, reading
    // the ledger, never the shard log: the owner knows what it folded. (A tick that scanned
    // the log, every shard's entries, slowed with every record charged: in a million-record
    // chaos run, ticks every 5 s stalled the whole pipeline.)
    // A first tick waits until every shard is loaded (a load reads the log, as it must).
    expect((await call(api.stack.url, 'POST', '/v1/admin/ladder-tick', { body: {} })).body.complete).toBe(true);
    const reads: string[] = [];
    api.stack.worker.mongo.client.on('commandStarted', (e) => {
      if (e.commandName === 'find' || e.commandName === 'aggregate' || e.commandName === 'count') reads.push(String(e.command[e.commandName]));
    });
    await insertOnly('p-crash-3', 'acct-crash', 2_000_000n);
    expect((await call(api.stack.url, 'POST', '/v1/admin/ladder-tick', { body: {} })).body.complete).toBe(true);
    expect(reads).toContain(COLLECTIONS.ledger);
    expect(reads).not.toContain(COLLECTIONS.shardLog);
    expect((await call(api.stack.url, 'GET', '/v1/accounts/acct-crash')).body.balance_micros).toBe(7_000_000);
    expect((await verifyServed(api.config, api.servers, api.mongo.db)).mismatches).toEqual([]);
  });
});
