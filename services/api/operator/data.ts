import type { Queue } from 'bullmq';
import type { Db } from 'mongodb';
import { BRIDGE_CONSUMER, DLQ_STREAM, USAGE_STREAM, type Bus } from '../../../shared/bus/index.js';
import { formatUsd, recentAnswer, toJsonMicros, type RecentHour } from '../../../shared/domain/index.js';
import type { ScrapeSource } from '../../../shared/runtime/index.js';
import { listRecentAllocations, listRecentTierTransitions, listTicks, type AccountDoc } from '../../../shared/store/index.js';
import { tickReport } from '../../../shared/app/index.js';
import { allocationView, transitionView } from '../views.js';
import { Cached, type CacheVersion } from '../cache.js';
import type { AccountReader } from '../../../shared/readModel/index.js';
import { deadLetterCounts } from '../../../shared/bus/index.js';
import type { RateSampler } from './rates.js';

/** BullMQ states shown per queue: what is waiting, running, retried later, or done. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** How long store reads are reused (each is a full scan on FerretDB) and how long queue/JetStream reads are. */
const STORE_TTL_MS = 5000;
const LIVE_TTL_MS = 1000;

export interface OperatorDataDeps {
  db: Db;
  accounts: AccountReader;
  bus: Bus;
  /** Every BullMQ queue of the product: the shard queues and the scheduler's. */
  queues: readonly Queue[];
  lowBalanceMicros: bigint;
  rates: RateSampler;
  /** What the account list's cache checks so a settled pipeline is never shown stale (SPEC 9); without it, TTL only. */
  version?: () => Promise<CacheVersion>;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** Below its own threshold (PUT /v1/admin/accounts/:id/alerts), else below LOW_BALANCE_MICROS. */
const isLow = (doc: AccountDoc, lowBalanceMicros: bigint): boolean => doc.balance_micros < (doc.low_balance_micros ?? lowBalanceMicros);

/** An account row of the dashboard: money as integer micros and as USD text, never a float. */
export function accountRow(doc: AccountDoc, lowBalanceMicros: bigint) {
  return {
    account_id: doc._id,
    balance_micros: toJsonMicros(doc.balance_micros),
    balance_usd: formatUsd(doc.balance_micros),
    low_balance: isLow(doc, lowBalanceMicros),
    discount_tier: doc.discount_tier,
    current_plan_id: doc.current_plan_id,
    vm_quota_used: doc.vm_quota_used,
    vm_quota_total: doc.vm_quota_total,
    vm_quota_period_end: iso(doc.vm_quota_period_end),
    last_active_at: iso(doc.last_active_at),
    kyc_verified: doc.kyc_verified,
  };
}

/**
 * What the dashboard and the scrape-time metrics read, behind short caches so that any
 * number of open dashboards and scrapers costs the store one scan per collection per
 * STORE_TTL_MS.
 */
export class OperatorData {
  private readonly accounts: Cached<AccountDoc[]>;
  private readonly allocations: Cached<ReturnType<typeof allocationView>[]>;
  private readonly ticks: Cached<{ ticks: ReturnType<typeof tickReport>[]; transitions: (ReturnType<typeof transitionView> & { account_id: string })[] }>;
  private readonly lag: Cached<{ pending: number; ackPending: number }>;
  private readonly depths: Cached<{ queue: string; counts: Record<string, number> }[]>;
  private readonly streams: Cached<{ usageMessages: number; deadLetters: number; deadByCode: Record<string, number> }>;
  private readonly recent: Cached<RecentHour[]>;

  constructor(private readonly deps: OperatorDataDeps) {
    const { db, bus } = deps;
    this.accounts = new Cached({ ttlMs: STORE_TTL_MS, ...(deps.version ? { version: deps.version } : {}) }, () => deps.accounts.list());
    this.allocations = new Cached({ ttlMs: STORE_TTL_MS }, async () => (await listRecentAllocations(db, 50)).map(allocationView));
    this.ticks = new Cached({ ttlMs: STORE_TTL_MS }, async () => ({
      ticks: (await listTicks(db, 20)).map(tickReport),
      transitions: (await listRecentTierTransitions(db, 50)).map((t) => ({ account_id: t.account_id, ...transitionView(t) })),
    }));
    this.lag = new Cached({ ttlMs: LIVE_TTL_MS }, async () => {
      const info = await bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER);
      return { pending: info.num_pending, ackPending: info.num_ack_pending };
    });
    this.depths = new Cached({ ttlMs: LIVE_TTL_MS }, () =>
      Promise.all(deps.queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts(...QUEUE_STATES) }))),
    );
    this.recent = new Cached({ ttlMs: LIVE_TTL_MS }, () => deps.accounts.recentHours());
    this.streams = new Cached({ ttlMs: LIVE_TTL_MS }, async () => {
      const [usage, dlq, deadByCode] = await Promise.all([bus.jsm.streams.info(USAGE_STREAM), bus.jsm.streams.info(DLQ_STREAM), deadLetterCounts(bus)]);
      return { usageMessages: usage.state.messages, deadLetters: dlq.state.messages, deadByCode };
    });
  }

  /** The gauges /metrics reads at scrape time. */
  scrapeSource(): ScrapeSource {
    return {
      consumerLag: () => this.lag.get(),
      queueDepths: () => this.depths.get(),
      accountBalances: async () => {
        const all = await this.accounts.get();
        return { belowThreshold: all.filter((a) => isLow(a, this.deps.lowBalanceMicros)).length, total: all.length };
      },
    };
  }

  /**
   * The live part of the dashboard. Each part fails on its own: a Redis outage shows as an
   * error on the queue panel while the JetStream numbers still come through.
   */
  async overview() {
    const settle = <T>(p: Promise<T>) =>
      p.then(
        (value) => ({ value, error: null }),
        (err: unknown) => ({ value: null, error: err instanceof Error ? err.message : String(err) }),
      );
    const [lag, queues, streams] = await Promise.all([settle(this.lag.get()), settle(this.depths.get()), settle(this.streams.get())]);
    return {
      at: new Date().toISOString(),
      rates: this.deps.rates.series(),
      consumer: lag.value ? { pending: lag.value.pending, ack_pending: lag.value.ackPending } : null,
      consumer_error: lag.error,
      queues: queues.value,
      queues_error: queues.error,
      streams: streams.value ? { usage_messages: streams.value.usageMessages, dead_letters: streams.value.deadLetters } : null,
      dead_by_code: streams.value?.deadByCode ?? null,
      streams_error: streams.error,
    };
  }

  /** Accounts whose id contains `search` (case-insensitive), sorted by id, at most `limit`. */
  async accountRows(search: string, limit: number) {
    const all = await this.accounts.get();
    const needle = search.trim().toLowerCase();
    const matching = needle ? all.filter((a) => a._id.toLowerCase().includes(needle)) : all;
    return { total: all.length, matching: matching.length, accounts: matching.slice(0, limit).map((a) => accountRow(a, this.deps.lowBalanceMicros)) };
  }

  /** Charges per hour and kind across all accounts, last 48 hours (from each shard's read model, never from the accounts). */
  async recentUsage(now: number) {
    return recentAnswer(await this.recent.get(), now);
  }

  async recentAllocations() {
    return { allocations: await this.allocations.get() };
  }

  async tickHistory() {
    return this.ticks.get();
  }
}
