import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../shared/config/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';
import { probe, startPipeline, testConfig, type Probe } from '../../support/pipeline.js';
import { childEnv, spawnTally, waitFor, type TallyProcess } from '../../support/processes.js';
import { runRedrive, WITHOUT_LLM_PRICE } from '../../support/redrive.js';
import { startTestServers, type TestServers } from '../../support/servers.js';
import { expectServedExactly, expectedBalances, makeStream, publishAll, type RecordedLine } from '../../support/stream.js';

const HEAVY_TEST_MS = 300_000;

/**
 * Issue 20: a dead letter is charged at most once however it is re-driven: two runs of the
 * same selection at once with a worker SIGKILLed under them, and a run SIGKILLed midway
 * then run again.
 */
describe('re-drive under faults', () => {
  let servers: TestServers | undefined;
  let p: Probe | undefined;
  const children: TallyProcess[] = [];
  let logs: string;

  /** Records dead-lettered `unpriced` under a price book without llm_token; returns the config with it. */
  async function deadLettered(): Promise<{ after: Config; lines: RecordedLine[]; unpriced: number }> {
    servers = await startTestServers();
    const before = testConfig(servers, { PRICE_BOOK_JSON: WITHOUT_LLM_PRICE, WORKER_LEASE_TTL_MS: '2000' });
    const after = testConfig(servers, { MONGO_DB: before.mongoDb, WORKER_LEASE_TTL_MS: '2000' });
    p = await probe(before, servers);
    logs = await mkdtemp(join(tmpdir(), 'tally-redrive-'));
    const lines = makeStream(900, 20, 'f');
    const pipeline = await startPipeline(before, servers);
    await publishAll(p.bus.js, lines);
    await p.drained(120_000);
    await pipeline.stop();
    return { after, lines, unpriced: lines.filter((l) => l.payload.includes('llm_token')).length };
  }

  function spawn(args: string[], config: Config, extra: Record<string, string> = {}): TallyProcess {
    const proc = spawnTally(args, childEnv(config, servers!, extra), join(logs, `${args.join('-')}-${children.length}.log`));
    children.push(proc);
    return proc;
  }

  const expectExact = (config: Config, lines: RecordedLine[]): Promise<void> => expectServedExactly(config, servers!, p!.mongo.db, lines);

  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await p?.close();
    await servers?.stop();
    p = undefined;
    servers = undefined;
  }, HEAVY_TEST_MS);

  it(
    'two re-drives of the same selection at once, the worker SIGKILLed under them: each record charged once',
    async () => {
      const { after, lines, unpriced } = await deadLettered();
      const w1 = spawn(['worker'], after);
      await w1.ready();
      const runs = Promise.all([runRedrive(after, servers!, p!), runRedrive(after, servers!, p!)]);
      // Killed once a re-drive batch is in the shard log: between its commit and its job's completion, or just after.
      await waitFor(
        async () => (await p!.mongo.db.collection(COLLECTIONS.shardLog).countDocuments({ job: /^rd-/ })) > 0,
        120_000,
        'a re-drive batch in the log',
        5,
      );
      w1.kill('SIGKILL');
      spawn(['worker'], after);
      const [a, b] = await runs;
      expect(a.charged + b.charged).toBe(unpriced);
      expect(a.duplicates + b.duplicates).toBe(unpriced);
      expect(a.charged_micros + b.charged_micros).toBe(
        -[
          ...expectedBalances(
            after,
            lines.filter((l) => l.payload.includes('llm_token')),
          ).balances.values(),
        ].reduce((s, x) => s + x, 0n),
      );
      await expectExact(after, lines);
      expect(await runRedrive(after, servers!, p!)).toMatchObject({ charged: 0, duplicates: unpriced });
    },
    HEAVY_TEST_MS,
  );

  it(
    'a re-drive SIGKILLed after its first job is added: the next run finishes it, nothing charged twice',
    async () => {
      const { after, lines, unpriced } = await deadLettered();
      spawn(['worker'], after);
      const crashed = spawn(['dlq', 'redrive', '--all'], after, { TALLY_FAILPOINTS: 'redrive.after-add=1' });
      expect((await crashed.exited).signal).toBe('SIGKILL');
      const report = await runRedrive(after, servers!, p!);
      expect(report.charged + report.duplicates).toBe(unpriced);
      await expectExact(after, lines);
      const runs = await p!.mongo.db.collection(COLLECTIONS.redriveRuns).find({}).sort({ at: 1 }).toArray();
      expect(runs.map((r) => [r['by'], r['report'] === undefined])).toEqual([
        ['cli', true],
        ['test', false],
      ]);
    },
    HEAVY_TEST_MS,
  );
});
