import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPending } from '../../../shared/app/index.js';
import { redisConnection, shardOf } from '../../../shared/queue/index.js';
import { AccountReadModel, AccountReader } from '../../../shared/readModel/index.js';
import { publishWithGo } from '../../support/goProducer.js';
import { startPipeline, useServers } from '../../support/pipeline.js';
import { startApi } from '../../../services/api/index.js';
import { apiEnv, call, configOf } from '../../support/api.js';
import { testLogger } from '../../support/servers.js';
import { childEnv, runTally } from '../../support/processes.js';
import { expectedBalances, makeStream } from '../../support/stream.js';

/**
 * SPEC 9 "settled means readable": the first time stats says pending 0, every balance is
 * readable as the domain core prices the stream, with nothing left to wait for. The stream
 * comes from a producer the product did not write (the official NATS Go client), and the
 * projection flush keeps its default interval, so reads that lagged the log would show.
 */
describe('settled means readable', () => {
  const env = useServers();

  it('at the first pending 0, every one of 10,000 balances equals the quote', async () => {
    const servers = env.servers;
    const config = configOf(servers, apiEnv(servers, { SHARDS: '16', PROJECTION_FLUSH_MS: '5000' }));
    const p = await env.probe(config);
    const pipeline = await startPipeline(config, servers);
    const api = await startApi({ ...config, httpPort: 0 }, servers, testLogger());
    const redis = redisConnection(servers.redisUrl);
    try {
      const lines = makeStream(20_000, 10_000, 'settled');
      const file = join(servers.dataDir, 'settled.ndjson');
      await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      const sent = await publishWithGo(servers, file);
      expect(sent).toMatchObject({ sent: lines.length, acked: lines.length, errors: 0 });

      const reader = new AccountReader(new AccountReadModel(redis, config.mongoDb, config.shards), p.mongo.db, config.shards, (id) =>
        shardOf(id, config.shards),
      );
      const lag = () => reader.status();
      const deadline = Date.now() + 120_000;
      let polls = 0;
      while ((await readPending(p.bus.jsm, lag)).pending > 0) {
        expect(Date.now()).toBeLessThan(deadline);
        polls++;
        // Keeps the dashboard's 5 s account cache warm with unsettled data, as an open dashboard would.
        expect((await call(api.url, 'GET', '/v1/admin/dashboard/accounts?limit=10')).status).toBe(200);
        await new Promise((r) => setTimeout(r, 100));
      }
      const accounts = await reader.list();
      const expected = expectedBalances(config, lines).balances;
      const equal = accounts.filter((a) => expected.get(a._id) === a.balance_micros).length;
      console.log(`balances equal at the first pending 0: ${equal} of ${expected.size} (after ${polls} polls)`);
      expect(new Map(accounts.map((a) => [a._id, a.balance_micros]))).toEqual(expected);
      const sample = [...expected.keys()].filter((_, i) => i % 50 === 0);
      for (const id of sample) {
        const answer = await call(api.url, 'GET', `/v1/accounts/${id}`);
        expect(BigInt((answer.body as { balance_micros: number | string }).balance_micros)).toBe(expected.get(id));
      }
      for (const id of sample.slice(0, 20)) {
        const rows = (await call(api.url, 'GET', `/v1/admin/dashboard/accounts?search=${id}&limit=500`)).body as {
          accounts: { account_id: string; balance_micros: number | string }[];
        };
        expect(BigInt(rows.accounts.find((a) => a.account_id === id)!.balance_micros)).toBe(expected.get(id));
      }

      const listed = await runTally(['accounts'], childEnv(config, servers));
      const rows = listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { account_id: string; balance_micros: number });
      expect(new Map(rows.map((r) => [r.account_id, BigInt(r.balance_micros)]))).toEqual(expected);
      const stats = await runTally(['stats', '--wait', '--timeout', '30'], childEnv(config, servers));
      expect(stats.code).toBe(0);
      expect(JSON.parse(stats.stdout)).toMatchObject({ received: lines.length, charged: lines.length, duplicates: 0, pending: 0, unprojected: 0 });
    } finally {
      redis.disconnect();
      await api.stop();
      await pipeline.stop();
    }
  }, 300_000);
});
