import { describe, expect, it } from 'vitest';
import { runCluster } from '../../cluster/clusterRun.js';

/**
 * The cluster run (issue 18) at CI size: 15k records through a 3-node NATS cluster (R3
 * streams), Redis primary + replica + 3 sentinels and FerretDB on PostgreSQL, 2 bridges,
 * 2 workers, 2 APIs and a scheduler, while the USAGE stream's leader is killed, Redis
 * fails over and an API is killed. Nothing lost, nothing charged twice, every balance
 * exact, `tally verify` clean, no service exited on its own. `npm run test:cluster` is the
 * long form (100k records, `--redis cluster` too).
 */
const log = (line: string): void => {
  if (process.env['CLUSTER_LOG']) process.stderr.write(`cluster: ${line}\n`);
};

describe('cluster run', () => {
  it('15k records through a NATS leader kill, a Redis failover and an API kill: every balance exact, verify clean', async () => {
    const env = { WORKER_LEASE_TTL_MS: '2000', NATS_ACK_WAIT_MS: '10000', NATS_DUPLICATE_WINDOW_MS: '5000' };
    const r = await runCluster({ records: 15_000, accounts: 1000, seed: 5, redis: 'sentinel', rate: 300, fuzz: 300, payments: 60, env, log });
    expect(r.detail.check.examples).toEqual([]);
    expect(r.detail.crashes).toEqual([]);
    expect(r.detail.fault_log.map((f) => f.kind)).toEqual(['nats_leader_kill', 'redis_failover', 'api_restart']);
    expect(r.detail.fault_log.filter((f) => f.detail.startsWith('FAILED'))).toEqual([]);
    expect(r.detail.engines.stream_replicas).toBe(3);
    expect(Object.values(r.detail.exit_codes).every((c) => c === 0)).toBe(true);
    expect({ lost: r.lost, double_charged: r.double_charged, verify: r.verify }).toEqual({ lost: 0, double_charged: 0, verify: 'clean' });
    const [equal, of] = r.balances_equal.split(' of ');
    expect(Number(of)).toBeGreaterThan(0);
    expect(equal).toBe(of);
    expect(r.ok).toBe(true);
  }, 600_000);
});
