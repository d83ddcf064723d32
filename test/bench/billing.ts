/**
 * The API's write paths at volume (issue 21): payment webhooks, plan purchases and VM
 * allocations against `tally api` once the ledger holds `ledgerEntries` entries.
 *
 * The ledger is filled by inserting synthetic payment entries directly (insertMany,
 * 1000-document batches, `shard` = shardOf(account), the webhook's own document shape) for
 * accounts of their own (`seed-<n>`), after every other phase has checked its balances and
 * while the worker holds every shard. They stay unfolded: a webhook's path never reads
 * them (one unique insert, a fold job carrying the entry, a read-model read), and nothing
 * else in this run takes a shard over. A takeover would fold them (its sweep), crediting
 * the seed accounts: correct, just slow; the run ends before any.
 *
 * Then, from `clients` concurrent senders: signed payments to accounts of the stream
 * (`acct-<n>`, 1,000 USD each), a `basic` plan for each paid account (402
 * `insufficient_balance` for the few whose usage exceeds the payment), then the VMs of
 * each plan bought (round by round, so concurrent requests mostly hit different accounts).
 * Each step: rate, p50/p99, answers by status.
 */
import type { Db } from 'mongodb';
import { signBody } from '../../services/api/index.js';
import { shardOf } from '../../shared/queue/index.js';
import type { LedgerDoc } from '../../shared/store/index.js';
import { COLLECTIONS } from '../../shared/store/internal.js';
import { httpLoad, type LoadResult } from './httpLoad.js';

export interface BillingOptions {
  db: Db;
  shards: number;
  api: { url: string; adminToken: string; webhookSecret: string };
  /** Stream accounts (`acct-0` .. `acct-<accounts - 1>`). */
  accounts: number;
  /** Ledger entries before the first webhook. */
  ledgerEntries: number;
  clients: number;
  /** Webhooks: at most this many, and for at most `seconds`. */
  webhooks: number;
  seconds: number;
  /** Plan purchases: at most this many accounts (each also gets its plan's VMs). */
  purchases: number;
  /** Called when the ledger is seeded and after each step (e.g. to read the processes' CPU per step). */
  mark?: (point: 'seeded' | 'webhooks' | 'purchases' | 'vms') => Promise<void>;
}

export interface BillingResult {
  /** Ledger entries when the webhooks began (seeded + what earlier phases wrote). */
  ledger_entries: number;
  seeded: number;
  seed_seconds: number;
  webhooks: LoadResult;
  purchases: LoadResult;
  vms: LoadResult;
}

const PAYMENT_MICROS = 1_000_000_000;
const VMS_PER_BASIC = 5;

async function seedLedger(db: Db, shards: number, target: number): Promise<{ seeded: number; total: number }> {
  const ledger = db.collection<LedgerDoc>(COLLECTIONS.ledger);
  const existing = await ledger.countDocuments();
  const at = new Date();
  let seeded = 0;
  for (let i = existing; i < target; i += 1000) {
    const docs: LedgerDoc[] = [];
    for (let j = i; j < Math.min(target, i + 1000); j++) {
      const account = `seed-${j % 50_000}`;
      docs.push({
        _id: `payment:seed-${j}`,
        kind: 'payment',
        account_id: account,
        shard: shardOf(account, shards),
        amount_micros: 1_000_000n,
        paid_at: at,
        at,
      });
    }
    await ledger.insertMany(docs, { ordered: false });
    seeded += docs.length;
  }
  return { seeded, total: existing + seeded };
}

export async function billingLoad(o: BillingOptions): Promise<BillingResult> {
  const seedStart = performance.now();
  const { seeded, total } = await seedLedger(o.db, o.shards, o.ledgerEntries);
  const seedSeconds = Math.round((performance.now() - seedStart) / 100) / 10;
  await o.mark?.('seeded');

  const admin = { authorization: `Bearer ${o.api.adminToken}` };
  // Distinct accounts in a scrambled order (7919 is prime), so payments spread over every shard.
  const account = (i: number): string => `acct-${(i * 7919) % o.accounts}`;
  const paid: string[] = [];
  const deadline = Date.now() + o.seconds * 1000;
  const runId = Date.now().toString(36);
  const webhooks = await httpLoad({
    url: o.api.url,
    clients: o.clients,
    stop: () => Date.now() > deadline,
    next: (i) => {
      if (i >= o.webhooks) return null;
      const body = JSON.stringify({
        payment_id: `bench-${runId}-${i}`,
        account_id: account(i),
        amount_micros: PAYMENT_MICROS,
        paid_at: new Date().toISOString(),
      });
      return { method: 'POST', path: '/v1/webhooks/payment', body, headers: { 'x-tally-signature': signBody(body, o.api.webhookSecret) } };
    },
    onAnswer: (i, status) => {
      if (status === 200 && i < o.accounts) paid.push(account(i));
    },
  });
  await o.mark?.('webhooks');

  const buyers = paid.slice(0, o.purchases);
  const bought = new Set<number>();
  const purchases = await httpLoad({
    url: o.api.url,
    clients: o.clients,
    next: (i) => (i < buyers.length ? { method: 'POST', path: `/v1/accounts/${buyers[i]}/plan`, body: '{"plan_id":"basic"}', headers: admin } : null),
    onAnswer: (i, status) => {
      if (status === 201) bought.add(i);
    },
  });
  await o.mark?.('purchases');
  const planned = buyers.filter((_, i) => bought.has(i));
  const vms = await httpLoad({
    url: o.api.url,
    clients: o.clients,
    next: (i) =>
      i < planned.length * VMS_PER_BASIC ? { method: 'POST', path: `/v1/accounts/${planned[i % planned.length]}/vms`, body: '{}', headers: admin } : null,
  });
  await o.mark?.('vms');
  return { ledger_entries: total, seeded, seed_seconds: seedSeconds, webhooks, purchases, vms };
}
