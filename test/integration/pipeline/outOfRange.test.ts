import { verifyServed } from '../../support/stream.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS, DLQ_STREAM, readStream } from '../../../shared/bus/index.js';
import { INT64_MAX } from '../../../shared/domain/index.js';
import { shardOf } from '../../../shared/queue/index.js';
import { readAccount, sumShardLog } from '../../../shared/store/index.js';
import { startBridge } from '../../../services/bridge/main.js';
import { apiEnv, configOf, pay, startStack } from '../../support/api.js';
import { publishWithGo } from '../../support/goProducer.js';
import { useServers } from '../../support/pipeline.js';
import { usage } from '../../support/records.js';
import { testLogger } from '../../support/servers.js';

/**
 * SPEC 2: nothing wraps. A charge or credit that would take a balance or a stored sum
 * outside Int64 is refused with `amount_out_of_range`: the record dead-lettered with its
 * original bytes, the payment answered 422; never stored wrapped (issue 16: two records of
 * cost_micros 2^63-1 from the Go client once left a balance of 2 micros).
 */
describe('amounts outside Int64', () => {
  const env = useServers();

  it('dead-letters the record that would wrap and answers 422 to the credit that would', async () => {
    const servers = env.servers;
    const config = configOf(servers, apiEnv(servers));
    const p = await env.probe(config);
    const stack = await startStack(config, servers);
    const bridge = await startBridge(config, servers, testLogger());
    try {
      const big = (id: string) =>
        JSON.stringify({ ...usage(id, 'acct-big', { kind: 'other', applies_to: 'hero_os_hourly', quantity: 1 }), cost_micros: INT64_MAX.toString() });
      const lines = [big('big-1'), big('big-2')].map((payload) => ({ subject: 'usage.acct-big', payload }));
      const file = join(servers.dataDir, 'big.ndjson');
      await writeFile(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      expect(await publishWithGo(servers, file)).toMatchObject({ acked: 2, errors: 0 });
      await p.drained(60_000);

      const dead: { code: string | undefined; payload: string }[] = [];
      for await (const m of readStream(p.bus.js, p.bus.jsm, DLQ_STREAM)) dead.push({ code: m.headers?.get(DLQ_HEADERS.code), payload: m.string() });
      expect(dead).toEqual([{ code: 'amount_out_of_range', payload: lines[1]!.payload }]);

      const huge = await pay(stack.url, {
        payment_id: 'p-huge',
        account_id: 'acct-w',
        amount_micros: '9223372036854775808',
        paid_at: new Date().toISOString(),
      });
      expect([huge.status, (huge.body as { error: { code: string } }).error.code]).toEqual([422, 'amount_out_of_range']);
      expect(
        (await pay(stack.url, { payment_id: 'p-1', account_id: 'acct-w', amount_micros: '9223372036854775000', paid_at: new Date().toISOString() })).status,
      ).toBe(200);
      const paidAt = new Date().toISOString();
      for (let attempt = 0; attempt < 2; attempt++) {
        const over = await pay(stack.url, { payment_id: 'p-2', account_id: 'acct-w', amount_micros: 1000, paid_at: paidAt });
        expect([over.status, (over.body as { error: { code: string } }).error.code]).toEqual([422, 'amount_out_of_range']);
      }
      await bridge.stop();
      await stack.stop();

      const balance = async (id: string) => (await readAccount(p.mongo.db, id, shardOf(id, config.shards)))?.balance_micros;
      expect(await balance('acct-big')).toBe(-INT64_MAX);
      expect(await balance('acct-w')).toBe(9_223_372_036_854_775_000n);
      const totals = await sumShardLog(p.mongo.db);
      expect([totals.charged, totals.duplicates]).toEqual([1, 0]);
      expect((await verifyServed(config, servers, p.mongo.db)).mismatches).toEqual([]);
    } finally {
      await bridge.stop().catch(() => undefined);
      await stack.stop().catch(() => undefined);
    }
  }, 120_000);
});
