import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPending } from '../../../shared/app/index.js';
import { DAY_MS, parseRecordedLine, Quoter, validateRecord } from '../../../shared/domain/index.js';
import { redisConnection, shardOf } from '../../../shared/queue/index.js';
import { AccountReadModel, AccountReader } from '../../../shared/readModel/index.js';
import { redisGroup } from '../../../shared/redis/index.js';
import { startApi } from '../../../services/api/index.js';
import { publishWithGo } from '../../support/goProducer.js';
import { startPipeline, useServers } from '../../support/pipeline.js';
import { apiEnv, call, configOf } from '../../support/api.js';
import { childEnv, runTally } from '../../support/processes.js';
import { usage } from '../../support/records.js';
import { testLogger } from '../../support/servers.js';
import type { RecordedLine } from '../../support/stream.js';

interface Row {
  account_id?: string;
  start: string;
  kind?: string;
  records: number;
  quantity: string;
  charged_micros: number | string;
}

/**
 * Issue 29 through the real pipeline: records of two kinds on three days (a late one 20
 * days back, repeats, a dead letter) from a producer the product did not write, then the
 * HTTP route and `tally usage` answer, at the first pending 0, exactly the quote's
 * charges per (day, kind), and every account's rows sum to what its balance says usage cost.
 */
describe('usage rollups through the pipeline (issue 29)', () => {
  const env = useServers();

  it('GET /v1/accounts/:id/usage and tally usage give the quote per (day, kind), summing to the ledger', async () => {
    const servers = env.servers;
    const config = configOf(servers, apiEnv(servers, { SHARDS: '4' }));
    const p = await env.probe(config);
    const pipeline = await startPipeline(config, servers);
    const api = await startApi({ ...config, httpPort: 0 }, servers, testLogger());
    const redis = redisConnection(servers.redisUrl);
    let stopped = false;
    try {
      const now = Date.now();
      const today = now - (now % DAY_MS);
      const lines: RecordedLine[] = [];
      const add = (id: string, account: string, fields: Record<string, unknown>, at: number): void => {
        lines.push({ subject: `usage.${account}`, payload: JSON.stringify(usage(id, account, fields, new Date(at))) });
      };
      for (let i = 0; i < 300; i++) {
        const account = `use-${i % 7}`;
        const at = today - (i % 3) * DAY_MS + (i % 23) * 60_000;
        if (i % 2 === 0) add(`r${i}`, account, { kind: 'vm_hour', applies_to: 'vm', quantity: (i % 9) / 4 }, at);
        else add(`r${i}`, account, { kind: 'llm_token', applies_to: 'llm', quantity: 1000 + i }, at);
      }
      add('late-1', 'use-0', { kind: 'llm_token', quantity: 123456.5 }, today - 20 * DAY_MS);
      lines.push(...lines.slice(0, 10));
      lines.push({ subject: 'usage.use-1', payload: JSON.stringify(usage('bad', 'use-1', { kind: 'gpu' }, new Date(now))) });
      const file = join(servers.dataDir, 'usage.ndjson');
      await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      expect(await publishWithGo(servers, file)).toMatchObject({ errors: 0 });

      const reader = new AccountReader(new AccountReadModel(redis, config.mongoDb, config.shards), p.mongo.db, config.shards, (id) =>
        shardOf(id, config.shards),
      );
      const deadline = Date.now() + 120_000;
      while ((await readPending(p.bus.jsm, () => reader.status())).pending > 0) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
      }

      // What tally quote computes for the same stream, per (account, day, kind).
      const quoter = new Quoter({ priceBook: config.priceBook, ladder: config.ladder, lateArrivalDays: config.lateArrivalDays });
      const expected = new Map<string, { records: number; charged: bigint }>();
      for (const l of lines) {
        const answer = quoter.quoteLine(JSON.stringify(l), now);
        if (!('charge_micros' in answer)) continue;
        const check = validateRecord(parseRecordedLine(JSON.stringify(l))!, { now, lateArrivalDays: config.lateArrivalDays, priceBook: config.priceBook });
        if (!check.ok) throw new Error('the quote charged an invalid record');
        const day = new Date(check.record.occurredAt - (check.record.occurredAt % DAY_MS)).toISOString();
        const key = `${answer.account_id} ${day} ${check.record.kind}`;
        const held = expected.get(key) ?? { records: 0, charged: 0n };
        expected.set(key, { records: held.records + 1, charged: held.charged + BigInt(answer.charge_micros) });
      }
      const byKey = (rows: Row[], account?: string) =>
        new Map(rows.map((r) => [`${r.account_id ?? account} ${r.start} ${r.kind}`, { records: r.records, charged: BigInt(r.charged_micros) }]));

      const answer = await call(api.url, 'GET', '/v1/accounts/use-0/usage?group_by=kind');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ account_id: 'use-0', window: 'day', to: new Date(today + DAY_MS).toISOString() });
      const use0 = [...expected].filter(([k]) => k.startsWith('use-0 '));
      expect(byKey(answer.body.rows as Row[], 'use-0')).toEqual(new Map(use0));
      expect((answer.body.rows as Row[]).find((r) => r.start === new Date(today - 20 * DAY_MS).toISOString())).toMatchObject({ quantity: '123456.5' });

      const all = await runTally(['usage', '--group-by', 'kind'], childEnv(config, servers));
      expect([all.code, all.stderr]).toEqual([0, '']);
      const rows = all.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Row);
      expect(byKey(rows)).toEqual(expected);
      // The ledger: no payments here, so what usage cost is minus the balance.
      for (const account of await reader.list()) {
        const charged = rows.filter((r) => r.account_id === account._id).reduce((n, r) => n + BigInt(r.charged_micros), 0n);
        expect(charged).toBe(-account.balance_micros);
      }
      const one = await runTally(['usage', '--account', 'use-0', '--group-by', 'kind'], childEnv(config, servers));
      expect(
        one.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Row),
      ).toEqual((answer.body.rows as Row[]).map((r) => ({ account_id: 'use-0', ...r })));

      const hourly = await call(
        api.url,
        'GET',
        `/v1/accounts/use-3/usage?window=hour&from=${new Date(today).toISOString()}&to=${new Date(today + DAY_MS).toISOString()}`,
      );
      expect(hourly.status).toBe(200);
      for (const r of hourly.body.rows as Row[]) expect(Date.parse(r.start) % 3_600_000).toBe(0);

      const bad = await call(api.url, 'GET', '/v1/accounts/use-0/usage?window=week');
      expect(bad).toEqual({ status: 400, body: { error: { code: 'invalid_query', message: 'window: must be hour or day' } } });
      expect((await call(api.url, 'GET', '/v1/accounts/use-0/usage?from=yesterday')).body.error.message).toMatch(/^from:/);
      expect((await call(api.url, 'GET', '/v1/accounts/use-0/usage', { token: null })).status).toBe(401);
      const refused = await runTally(['usage', '--window', 'week'], childEnv(config, servers));
      expect([refused.code, refused.stderr.trim()]).toEqual([1, 'tally: window: must be hour or day']);

      // Redis lost the read model (the owners stopped cleanly, so the store's projections are whole): the store answers the same rows.
      await pipeline.stop();
      stopped = true;
      for (let shard = 0; shard < config.shards; shard++)
        await redis.del(`${redisGroup(config.mongoDb, shard)}:meta`, `${redisGroup(config.mongoDb, shard)}:accounts`);
      expect((await reader.status()).unknownShards).toBe(config.shards);
      const fromStore = await runTally(['usage', '--group-by', 'kind'], childEnv(config, servers));
      expect(fromStore.stdout).toBe(all.stdout);
    } finally {
      redis.disconnect();
      await api.stop();
      if (!stopped) await pipeline.stop();
    }
  }, 300_000);
});
