import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../shared/config/index.js';
import { startWorker } from '../../../services/worker/main.js';
import { ShardQueues, redisConnection } from '../../../shared/queue/index.js';
import { startTestServers, testLogger, type TestServers } from '../../support/servers.js';
import { probe, startPipeline, testConfig, type Probe } from '../../support/pipeline.js';
import { childEnv, spawnTally, waitFor, type TallyProcess } from '../../support/processes.js';
import { expectServedExactly, expectedBalances, makeStream, publishAll, servedState, storeState } from '../../support/stream.js';

/**
 * SPEC 9: every valid record accepted by JetStream is charged exactly once, whatever
 * fails in between. Each test breaks one thing mid-stream and then compares the store,
 * to the micro, with the domain core's own computation of the same stream.
 */
/** Each test starts servers and several processes on a 2-core machine: give it room. */
const HEAVY_TEST_MS = 300_000;

/** How many distinct shards a worker process has loaded (taken over) so far. */
function shardsLoaded(proc: TallyProcess): number {
  return new Set([...proc.output().matchAll(/"shard":(\d+),[^\n]*"msg":"shard loaded"/g)].map((m) => m[1])).size;
}

describe('exactly once under faults', () => {
  let servers: TestServers | undefined;
  let p: Probe | undefined;
  const children: TallyProcess[] = [];
  let logs: string;

  async function setup(env: Record<string, string> = {}): Promise<{ config: Config; servers: TestServers; p: Probe }> {
    servers = await startTestServers();
    const config = testConfig(servers, { WORKER_LEASE_TTL_MS: '2000', NATS_ACK_WAIT_MS: '3000', ...env });
    p = await probe(config, servers);
    logs = await mkdtemp(join(tmpdir(), 'tally-faults-'));
    return { config, servers, p };
  }

  function spawn(kind: 'worker' | 'bridge', config: Config, extra: Record<string, string> = {}): TallyProcess {
    const proc = spawnTally([kind], childEnv(config, servers!, extra), join(logs, `${kind}-${children.length}.log`));
    children.push(proc);
    return proc;
  }

  const expectExact = (config: Config, lines: Parameters<typeof expectedBalances>[1]): Promise<void> =>
    expectServedExactly(config, servers!, p!.mongo.db, lines);

  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
    await p?.close();
    await servers?.stop();
    p = undefined;
    servers = undefined;
  }, HEAVY_TEST_MS);

  it(
    'worker SIGKILLed between the shard-log write and the acks: the next owner charges nothing twice',
    async () => {
      const { config, p } = await setup();
      const w1 = spawn('worker', config, { TALLY_FAILPOINTS: 'worker.after-log-append=3' });
      const pipeline = await startPipeline(config, servers!);
      await pipeline.worker.stop(); // only the child worker owns shards
      const lines = makeStream(3000, 40);
      await publishAll(p.bus.js, lines);
      expect((await w1.exited).signal).toBe('SIGKILL');
      const w2 = spawn('worker', config);
      await p.drained(90_000);
      await waitFor(() => shardsLoaded(w2) === config.shards, 60_000, 'the second worker to own every shard');
      await pipeline.bridge.stop();
      expect((await w2.stop()).code).toBe(0);
      await expectExact(config, lines);
    },
    HEAVY_TEST_MS,
  );

  it(
    'workers SIGKILLed at random moments, many times, while records flow',
    async () => {
      const { config, p } = await setup();
      const pipeline = await startPipeline(config, servers!);
      await pipeline.worker.stop();
      const lines = makeStream(6000, 100);
      const publishing = publishAll(p.bus.js, lines, true, 64);
      let seed = 42;
      for (let round = 0; round < 5; round++) {
        const w = spawn('worker', config);
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        await new Promise((r) => setTimeout(r, 1500 + (seed % 1500)));
        w.kill('SIGKILL');
        await w.exited;
      }
      await publishing;
      const last = spawn('worker', config);
      await p.drained(120_000);
      // The log may hold everything before the killed owners' leases run out; their
      // projections are written by whoever owns those shards next: let that be `last`.
      await waitFor(() => shardsLoaded(last) === config.shards, 60_000, 'the last worker to own every shard');
      await pipeline.bridge.stop();
      expect((await last.stop()).code).toBe(0);
      await expectExact(config, lines);
    },
    HEAVY_TEST_MS,
  );

  it(
    'bridge SIGKILLed mid-fetch: JetStream redelivers to another bridge, nothing charged twice',
    async () => {
      const { config, p } = await setup();
      const pipeline = await startPipeline(config, servers!);
      await pipeline.bridge.stop(); // bridges run as child processes here
      const lines = makeStream(6000, 50);
      const publishing = publishAll(p.bus.js, lines, true, 64);
      // It dies holding messages: right after handing its third job to the workers, before their acks.
      const b1 = spawn('bridge', config, { TALLY_FAILPOINTS: 'bridge.after-enqueue=3' });
      expect((await b1.exited).signal).toBe('SIGKILL');
      await publishing;
      const b2 = spawn('bridge', config);
      await p.drained(90_000);
      const consumer = await p.bus.jsm.consumers.info('USAGE', 'tally-bridge');
      expect(consumer.delivered.consumer_seq).toBeGreaterThan(lines.length); // b1 died holding messages: some were delivered twice
      expect((await b2.stop()).code).toBe(0);
      await pipeline.worker.stop();
      await expectExact(config, lines);
    },
    HEAVY_TEST_MS,
  );

  it(
    'Redis emptied and restarted mid-stream: lost jobs are re-added, charged once',
    async () => {
      const { config, p, servers } = await setup();
      const pipeline = await startPipeline(config, servers);
      const first = makeStream(3000, 50, 'a');
      const second = makeStream(3000, 50, 'b');
      await publishAll(p.bus.js, first, true, 64);
      await waitFor(async () => (await p.acked()) > 500, 60_000, 'first charges');
      // No worker for a moment: the bridge's next jobs wait in Redis, and Redis loses them all.
      await pipeline.worker.stop();
      await publishAll(p.bus.js, second, true, 64);
      const redis = redisConnection(servers.redisUrl);
      const queues = new ShardQueues(redis, config.mongoDb, config.shards);
      const waiting = async (): Promise<number> => {
        let n = 0;
        for (let shard = 0; shard < config.shards; shard++) n += await queues.forShard(shard).getWaitingCount();
        return n;
      };
      await waitFor(async () => pipeline.bridge.bridge.pending >= second.length && (await waiting()) > 0, 60_000, 'jobs waiting in Redis');
      await queues.close();
      redis.disconnect();
      await servers.restart('redis', { wipe: true });
      const worker = await startWorker(config, servers, testLogger());
      await p.drained(90_000);
      expect(pipeline.bridge.bridge.counters.requeued).toBeGreaterThan(0); // the loss really happened
      await pipeline.bridge.stop();
      await worker.stop();
      await expectExact(config, [...first, ...second]);
    },
    HEAVY_TEST_MS,
  );

  it(
    'nats-server restarted mid-stream: un-acked messages come back, charged once',
    async () => {
      const { config, p, servers } = await setup();
      const pipeline = await startPipeline(config, servers);
      const first = makeStream(3000, 50, 'a');
      await publishAll(p.bus.js, first);
      await waitFor(async () => (await p.acked()) > 300, 60_000, 'first charges');
      await servers.restart('nats');
      const second = makeStream(2000, 50, 'b');
      await waitFor(
        async () => {
          try {
            await publishAll(p.bus.js, second);
            return true;
          } catch {
            return false;
          }
        },
        60_000,
        'publishing after the restart',
      );
      await p.drained(90_000);
      await pipeline.stop();
      await expectExact(config, [...first, ...second]);
    },
    HEAVY_TEST_MS,
  );

  it(
    "a producer re-publishing ids after JetStream's duplicate window is charged once",
    async () => {
      const { config, p } = await setup({ NATS_DUPLICATE_WINDOW_MS: '1000' });
      const pipeline = await startPipeline(config, servers!);
      const lines = makeStream(500, 10);
      await publishAll(p.bus.js, lines);
      await new Promise((r) => setTimeout(r, 1500));
      await publishAll(p.bus.js, lines); // same Nats-Msg-Id, window passed: JetStream stores them again
      await publishAll(p.bus.js, lines.slice(0, 100), false); // and without Nats-Msg-Id at all
      await p.drained();
      await pipeline.stop();
      const state = await storeState(p.mongo.db);
      await expectExact(config, lines);
      const totals = await import('../../../shared/store/index.js').then((m) => m.sumShardLog(p.mongo.db));
      expect(totals.duplicates).toBe(600);
      expect(state.mismatches).toBe(0);
    },
    HEAVY_TEST_MS,
  );

  it(
    'a worker paused past its lease while another takes its shards: both race, the log admits one',
    async () => {
      const { config, p } = await setup();
      const pipeline = await startPipeline(config, servers!);
      await pipeline.worker.stop();
      const w1 = spawn('worker', config);
      const first = makeStream(3000, 60, 'a');
      const second = makeStream(4000, 60, 'b');
      const lines = [...first, ...second];
      await publishAll(p.bus.js, first, true, 64);
      await waitFor(async () => (await p.acked()) > 500, 60_000, 'first charges');
      w1.kill('SIGSTOP');
      // Everything from here on can only be charged by the second worker, once w1's leases lapse.
      await publishAll(p.bus.js, second, true, 64);
      const w2 = spawn('worker', config);
      await waitFor(async () => (await p.acked()) > first.length + 1000, 120_000, 'the second worker charging');
      w1.kill('SIGCONT');
      await p.drained(90_000);
      await pipeline.bridge.stop();
      expect((await w1.stop()).code).toBe(0);
      expect((await w2.stop()).code).toBe(0);
      // The paused worker woke up to find its shards taken: it noticed and let go.
      expect(await readFile(join(logs, 'worker-0.log'), 'utf8')).toMatch(/shard lease lost|taken by another owner/);
      await expectExact(config, lines);
    },
    HEAVY_TEST_MS,
  );

  it(
    'a store that stalls while a worker loads its shards costs it no lease: renewal does not wait for the loads',
    async () => {
      const { config, servers, p } = await setup({ WORKER_LEASE_TTL_MS: '1000', SHARDS: '16' });
      const pipeline = await startPipeline(config, servers);
      await pipeline.worker.stop();
      const lines = makeStream(2000, 40, 'l');
      const w = spawn('worker', config);
      // The moment the first shard is loaded, the store stops answering: the worker is now
      // loading its next shard, for three lease lifetimes.
      await waitFor(async () => shardsLoaded(w) > 0, 60_000, 'the first shard loaded', 2);
      await servers.kill('ferretdb', 'SIGSTOP');
      const first = Number(/"shard":(\d+),[^\n]*"msg":"shard loaded"/.exec(w.output())![1]);
      const redis = redisConnection(servers.redisUrl);
      try {
        const key = `tally:${config.mongoDb}:lease:${first}`;
        const holder = await redis.get(key);
        expect(holder).toMatch(/^worker-/);
        await new Promise((r) => setTimeout(r, 3000));
        // Before renewal had its own timer the lease had expired here (renewals ran between loads).
        expect(await redis.get(key)).toBe(holder);
        expect(shardsLoaded(w)).toBeLessThan(config.shards);
      } finally {
        await servers.kill('ferretdb', 'SIGCONT');
        await redis.quit();
      }
      await publishAll(p.bus.js, lines, true, 64);
      await p.drained(120_000);
      await pipeline.bridge.stop();
      expect((await w.stop()).code).toBe(0);
      expect(w.output()).not.toMatch(/shard lease lost/);
      expect(shardsLoaded(w)).toBe(config.shards);
      await expectExact(config, lines);
    },
    HEAVY_TEST_MS,
  );

  it(
    'two worker and two bridge processes at once, with redeliveries overlapping, stay exact',
    async () => {
      const { config, p } = await setup({ NATS_ACK_WAIT_MS: '1000' });
      const procs = [spawn('worker', config), spawn('worker', config), spawn('bridge', config), spawn('bridge', config)];
      const lines = makeStream(8000, 200);
      await publishAll(p.bus.js, lines, false, 128);
      await publishAll(p.bus.js, lines.slice(0, 1000), false, 128);
      await p.drained(120_000);
      for (const proc of procs) expect((await proc.stop()).code).toBe(0);
      await expectExact(config, lines);
    },
    HEAVY_TEST_MS,
  );
});
