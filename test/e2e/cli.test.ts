import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageMsgId } from '../../shared/bus/index.js';
import { redisConnection, shardOf } from '../../shared/queue/index.js';
import { redisGroup } from '../../shared/redis/index.js';
import { encodeAccounts, loadShardAccounts, writeProjectionSnapshot } from '../../shared/store/index.js';
import { startTestServers, type TestServers } from '../support/servers.js';
import { probe, testConfig, type Probe } from '../support/pipeline.js';
import { childEnv, runTally } from '../support/processes.js';
import { badMessages, usage } from '../support/records.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const NATS_CLI = join(ROOT, '.tools/bin/nats');

const tally = (env: NodeJS.ProcessEnv, args: string[], input?: string) => runTally(args, env, input);

const ndjson = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the tally CLI against real servers, fed by the official nats CLI', () => {
  let servers: TestServers;
  let p: Probe;
  let env: NodeJS.ProcessEnv;
  const now = new Date();
  const good = Array.from({ length: 30 }, (_, i) => usage(`cli-${i}`, `acct-${i % 3}`, { kind: 'llm_token', quantity: 100_000 * (i + 1) }, now));
  const bad = badMessages(now).slice(0, 3);

  beforeAll(async () => {
    servers = await startTestServers();
    const config = testConfig(servers, { SHARDS: '2' });
    env = childEnv(config, servers, { LOG_LEVEL: 'warn' });
    p = await probe(config, servers); // creates the streams, as any tally process does at start
    // A producer we did not write: the official CLI, as the producers' identity, with Nats-Msg-Id as SPEC 3 asks.
    const publish = (subject: string, payload: string, headers: string[] = []) =>
      run(NATS_CLI, ['--server', servers.natsUrl, '--nkey', servers.producerNkey, 'pub', '--jetstream', ...headers, subject, payload]);
    for (const r of good) await publish(`usage.${r.account_id}`, JSON.stringify(r), ['-H', `Nats-Msg-Id:${usageMsgId(r.account_id, r.id)}`]);
    await publish(`usage.${good[0]!.account_id}`, JSON.stringify(good[0])); // a retry without the header
    for (const [, subject, payload] of bad) await publish(subject, payload);
  });
  afterAll(async () => {
    await p?.close();
    await servers?.stop();
  });

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await tally(env, [flag])).toMatchObject({ stdout: `${version}\n`, code: 0 });
  });

  it('aggregate --once drains the stream and reports what it did', async () => {
    const { stdout, code } = await tally(env, ['aggregate', '--once']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(report).toMatchObject({ drained: true, received: 34, charged: 30, duplicates: 1 });
    expect(report['dead']).toEqual(Object.fromEntries(bad.map(([code]) => [code, 1])));
  });

  it('stats, accounts and dlq show the same story', async () => {
    expect(JSON.parse((await tally(env, ['stats'])).stdout)).toEqual({ received: 34, charged: 30, duplicates: 1, dead: 3, pending: 0, unprojected: 0 });
    const accounts = ndjson((await tally(env, ['accounts'])).stdout);
    expect(accounts.map((a) => a['account_id'])).toEqual(['acct-0', 'acct-1', 'acct-2']);
    // llm_token: 150000 micros per 1e6 tokens; record i has 100000*(i+1) tokens -> 15000*(i+1) micros.
    const expected = [0, 1, 2].map((k) => -good.reduce((sum, _r, i) => (i % 3 === k ? sum + 15_000 * (i + 1) : sum), 0));
    expect(accounts.map((a) => a['balance_micros'])).toEqual(expected);
    const dead = ndjson((await tally(env, ['dlq'])).stdout);
    expect(dead.map((d) => [d['code'], d['subject'], d['payload']])).toEqual(bad);
  });

  it('quote prices the exported stream offline exactly as the pipeline charged it', async () => {
    const stream = good.map((r) => JSON.stringify({ subject: `usage.${r.account_id}`, payload: JSON.stringify(r) })).join('\n');
    const quoted = ndjson((await tally(env, ['quote'], `${stream}\n`)).stdout);
    const total = quoted.reduce((sum, q) => sum + Number(q['charge_micros'] ?? 0), 0);
    expect(total).toBe(15_000 * ((30 * 31) / 2));
  });

  it('verify passes on an exact ledger and fails, naming the account, when a balance is tampered with', async () => {
    expect((await tally(env, ['verify'])).code).toBe(0);
    // The balance readers see (the read model in Redis)...
    const redis = redisConnection(servers.redisUrl);
    const key = redisGroup(env['MONGO_DB']!, shardOf('acct-1', 2));
    try {
      const doc = JSON.parse((await redis.hget(`${key}:accounts`, 'acct-1'))!) as Record<string, unknown>;
      await redis.hset(`${key}:accounts`, 'acct-1', JSON.stringify({ ...doc, balance_micros: '5' }));
      const { stdout, code } = await tally(env, ['verify']);
      expect(code).toBe(1);
      expect(ndjson(stdout)[0]).toMatchObject({ account_id: 'acct-1', problem: 'balance_differs', actual_micros: 5 });
      // ...and, once Redis has lost the shard's model, the store's projection that readers fall back to.
      await redis.del(`${key}:accounts`, `${key}:meta`);
      expect((await tally(env, ['verify'])).code).toBe(0);
    } finally {
      redis.disconnect();
    }
    // A projection snapshot that disagrees with the log, newer than the owner's.
    const shard = shardOf('acct-1', 2);
    const stored = await loadShardAccounts(p.mongo.db, shard);
    const tampered = [...stored.latest.values()].map((d) => (d._id === 'acct-1' ? { ...d, balance_micros: 7n } : d));
    await writeProjectionSnapshot(p.mongo.db, shard, (stored.seq ?? 0) + 1_000_000, encodeAccounts(tampered), new Date());
    const { stdout, code } = await tally(env, ['verify']);
    expect(code).toBe(1);
    expect(ndjson(stdout)[0]).toMatchObject({ account_id: 'acct-1', problem: 'balance_differs', actual_micros: 7 });
  });

  it('a configuration error exits 2 and names the variable', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'bin/tally.js'), 'stats'],
        { env: { ...env, LADDER_JSON: '[{"tier":"week","min_days":7,"multiplier":"3/2"}]' } },
        (err, _o, stderr) => resolve({ code: Number((err as { code?: number } | null)?.code ?? 0), stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/LADDER_JSON/);
  });
});
