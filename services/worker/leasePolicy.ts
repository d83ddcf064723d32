/** What a worker's rebalance sees: the shards, the live workers, the shards it holds. */
export interface BalanceView {
  shards: number;
  /** Live workers, this one included (at least 1). */
  live: number;
  /** Shards this worker holds, oldest first. */
  held: readonly number[];
  /** Where to start looking for free shards (random, so that workers starting together spread out). */
  start: number;
}

export interface BalancePlan {
  /** This worker's fair share: ceil(shards / live). */
  target: number;
  /** Held shards beyond the share, handed over (the newest go first). */
  release: number[];
  /** Shards not held, in the order to try their leases, while fewer than `target` are held. */
  candidates: number[];
}

/**
 * The lease balancer's policy: each live worker holds a fair share of the shards. A worker
 * above its share hands the excess over; one below tries free leases from a random point
 * (a lease taken by another worker is skipped: the lease, not this plan, decides). Pure.
 */
export function planBalance(view: BalanceView): BalancePlan {
  const target = Math.ceil(view.shards / Math.max(1, view.live));
  const held = new Set(view.held);
  const candidates: number[] = [];
  for (let i = 0; i < view.shards; i++) {
    const shard = (view.start + i) % view.shards;
    if (!held.has(shard)) candidates.push(shard);
  }
  return { target, release: view.held.slice(target), candidates };
}
