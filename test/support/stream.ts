import { expect } from 'vitest';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Quoter } from '../../shared/domain/index.js';
import type { Config } from '../../shared/config/index.js';
import { sumShardLog, verifyLedger } from '../../shared/store/index.js';
import { listAccounts } from '../../shared/store/internal.js';
import { redisAuth, redisConnection, shardOf } from '../../shared/queue/index.js';
import { AccountReadModel, AccountReader } from '../../shared/readModel/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import type { Db } from 'mongodb';
import { usage } from './records.js';
import { usageMsgId } from '../../shared/bus/index.js';

export interface RecordedLine {
  subject: string;
  payload: string;
}

/** A deterministic stream of valid records over `accounts` accounts. */
export function makeStream(n: number, accounts: number, prefix = 'r', now = Date.now()): RecordedLine[] {
  const lines: RecordedLine[] = [];
  for (let i = 0; i < n; i++) {
    const account = `acct-${(i * 7919) % accounts}`;
    const kind =
      i % 3 === 0 ? { kind: 'vm_hour', applies_to: 'vm', quantity: (i % 17) / 4 } : { kind: 'llm_token', applies_to: 'llm', quantity: 1000 + (i % 5000) };
    lines.push({ subject: `usage.${account}`, payload: JSON.stringify(usage(`${prefix}-${i}`, account, kind, new Date(now - (i % 600) * 1000))) });
  }
  return lines;
}

/** Publishes with a bounded window of outstanding acks; `msgId` sets Nats-Msg-Id to `<account_id>/<id>` (SPEC 3). */
export async function publishAll(js: JetStreamClient, lines: readonly RecordedLine[], msgId = true, window = 256): Promise<void> {
  const pending = new Set<Promise<unknown>>();
  for (const l of lines) {
    const p = js.publish(l.subject, l.payload, msgId ? { msgID: recordMsgId(l.payload) } : {}).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= window) await Promise.race(pending);
  }
  await Promise.all(pending);
}

/** The Nats-Msg-Id a producer sends with a valid record's payload. */
export function recordMsgId(payload: string): string {
  const { id, account_id } = JSON.parse(payload) as { id: string; account_id: string };
  return usageMsgId(account_id, id);
}

/** The balances the domain core says the stream should produce (no payments: tier none). */
export function expectedBalances(config: Config, lines: readonly RecordedLine[], now = Date.now()): { balances: Map<string, bigint>; unique: number } {
  const quoter = new Quoter({ priceBook: config.priceBook, ladder: config.ladder, lateArrivalDays: config.lateArrivalDays });
  const balances = new Map<string, bigint>();
  let unique = 0;
  for (const l of lines) {
    const q = quoter.quoteLine(JSON.stringify(l), now);
    if ('charge_micros' in q) {
      unique++;
      balances.set(q.account_id, (balances.get(q.account_id) ?? 0n) - BigInt(q.charge_micros));
    }
  }
  return { balances, unique };
}

/**
 * Asserts what readers are served (the read model, written before every job completed) is
 * exactly the domain core's computation of `lines`: balances to the micro, the log's charge
 * count, and `verify` clean.
 */
export async function expectServedExactly(config: Config, endpoints: Endpoints, db: Db, lines: readonly RecordedLine[]): Promise<void> {
  const expected = expectedBalances(config, lines);
  const actual = await servedState(config, endpoints, db);
  expect(actual.charged).toBe(expected.unique);
  expect(actual.balances).toEqual(expected.balances);
  expect(actual.mismatches).toBe(0);
}

/** Asserts the store holds exactly the expected charges: projections, log totals, ledger fold. */
export async function storeState(db: Db): Promise<{ balances: Map<string, bigint>; charged: number; mismatches: number }> {
  const accounts = await listAccounts(db);
  const totals = await sumShardLog(db);
  const verify = await verifyLedger(db);
  return { balances: new Map(accounts.map((a) => [a._id, a.balance_micros])), charged: totals.charged, mismatches: verify.mismatches.length };
}

/** `tally verify` as the CLI runs it: the balances readers are served (the read model) against the log. */
export async function verifyServed(config: Config, endpoints: Endpoints, db: Db): ReturnType<typeof verifyLedger> {
  return (await servedState(config, endpoints, db)).verify;
}

/** What readers are served (the read model, as `tally accounts` reads it), the log's totals and `verify` on both. */
export async function servedState(
  config: Config,
  endpoints: Endpoints,
  db: Db,
): Promise<{ balances: Map<string, bigint>; charged: number; mismatches: number; verify: Awaited<ReturnType<typeof verifyLedger>> }> {
  const redis = redisConnection(endpoints.redisUrl, redisAuth(config));
  try {
    const reader = new AccountReader(new AccountReadModel(redis, config.mongoDb, config.shards), db, config.shards, (id) => shardOf(id, config.shards));
    const accounts = await reader.list();
    const verify = await verifyLedger(db, accounts);
    const totals = await sumShardLog(db);
    return { balances: new Map(accounts.map((a) => [a._id, a.balance_micros])), charged: totals.charged, mismatches: verify.mismatches.length, verify };
  } finally {
    redis.disconnect();
  }
}
