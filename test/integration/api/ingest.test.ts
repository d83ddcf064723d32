import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_HEADERS, DLQ_STREAM, USAGE_STREAM, readStream } from '../../../shared/bus/index.js';
import { Quoter } from '../../../shared/domain/index.js';
import type { Config } from '../../../shared/config/index.js';
import { startApi, type RunningApi } from '../../../services/api/index.js';
import { ADMIN_TOKEN, apiEnv, call, configOf } from '../../support/api.js';
import { probe, startPipeline, type Probe } from '../../support/pipeline.js';
import { badMessages, usage } from '../../support/records.js';
import { startTestServers, testLogger, type TestServers } from '../../support/servers.js';
import { makeStream, publishAll, type RecordedLine } from '../../support/stream.js';

/**
 * Issue #31 §1: POST /v1/usage gives the bus's guarantees. The same records sent over NATS
 * and over HTTP end in the same balances and the same `tally quote` answers, byte for byte
 * on the stream (a cost_micros beyond 2^53, a quantity written `1.50`); a retried request
 * is charged once; an account key posts for its own account only; every rule of SPEC 3 is
 * answered with its code; a producer key reads nothing.
 */
describe('POST /v1/usage: records over HTTP with the guarantees of the bus', () => {
  let servers: TestServers;
  let config: Config;
  let p: Probe;
  let api: RunningApi;
  let stopPipeline: () => Promise<void>;

  beforeAll(async () => {
    servers = await startTestServers();
    // A request waits 2 s for JetStream's acks, not the default 10 s: the NATS-down test waits out one or two (and 250 records are acked well within it on a loaded machine).
    config = configOf(servers, apiEnv(servers, { RATE_LIMIT_INGEST_PER_MINUTE: '100000', INGEST_PUBLISH_TIMEOUT_MS: '2000' }));
    p = await probe(config, servers);
    const pipeline = await startPipeline(config, servers);
    stopPipeline = () => pipeline.stop();
    api = await startApi({ ...config, httpPort: 0 }, servers, testLogger());
  });
  afterAll(async () => {
    await api?.stop();
    await stopPipeline?.();
    await p?.close();
    await servers?.stop();
  });

  const post = (body: string, token: string | null = ADMIN_TOKEN, type = 'application/json') =>
    call(api.url, 'POST', '/v1/usage', { raw: body, token, headers: { 'content-type': type } });
  const balanceOf = async (account: string): Promise<bigint> => {
    const res = await call(api.url, 'GET', `/v1/accounts/${account}`);
    return res.status === 404 ? 0n : BigInt(res.body.balance_micros);
  };
  const settle = async (): Promise<void> => {
    await p.drained();
    const res = await call(api.url, 'GET', '/v1/stats');
    for (let i = 0; i < 200 && res.body?.pending !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      Object.assign(res, await call(api.url, 'GET', '/v1/stats'));
    }
  };

  it('the same stream through HTTP and through NATS: identical balances, quote answers and bytes on the stream', async () => {
    const now = Date.now();
    const at = new Date(now - 60_000).toISOString();
    // Written by hand: JSON.stringify of a parsed copy would not keep these bytes.
    const exact = (account: string): string[] => [
      `{"id":"big","account_id":"${account}","kind":"other","quantity":1.50,"occurred_at":"${at}","cost_micros":"9007199254740993"}`,
      `{"id":"bignum","account_id":"${account}","kind":"other","quantity":1,"occurred_at":"${at}","cost_micros":9007199254740993}`,
      `{"id":"seven","account_id":"${account}","kind":"vm_hour","applies_to":"vm","quantity":1.0000001,"occurred_at":"${at}"}`,
      `{"specversion":"1.0","id":"ce-1","source":"test","type":"usage","subject":"${account}","time":"${at}","data":{"kind":"llm_token","applies_to":"llm","quantity":2500}}`,
    ];
    const renamed = (prefix: string): RecordedLine[] => [
      ...makeStream(600, 12, 'r', now).map((l) => {
        const record = JSON.parse(l.payload) as { account_id: string };
        record.account_id = `${prefix}-${record.account_id}`;
        return { subject: `usage.${record.account_id}`, payload: JSON.stringify(record) };
      }),
      ...exact(`${prefix}-acct-x`).map((payload) => ({ subject: `usage.${prefix}-acct-x`, payload })),
    ];
    const overNats = renamed('n');
    const overHttp = renamed('h');
    await publishAll(p.bus.js, overNats);

    const rejected: { id: string; code: string }[] = [];
    const sent = { accepted: 0, duplicates: 0 };
    const batches = [overHttp.slice(0, 250), overHttp.slice(250, 500), overHttp.slice(500)];
    for (const [i, batch] of batches.entries()) {
      const payloads = batch.map((l) => l.payload);
      const ndjson = i === 1;
      const res = await post(ndjson ? payloads.join('\n') : `[${payloads.join(',\n')}]`, ADMIN_TOKEN, ndjson ? 'application/x-ndjson' : 'application/json');
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      sent.accepted += res.body.accepted;
      sent.duplicates += res.body.duplicates;
      for (const r of res.body.rejected as { index: number; code: string }[]) rejected.push({ id: String(JSON.parse(payloads[r.index]!).id), code: r.code });
    }
    expect(rejected).toEqual([
      { id: 'bignum', code: 'invalid_cost' },
      { id: 'seven', code: 'invalid_quantity' },
    ]);
    expect(sent).toEqual({ accepted: overHttp.length - 2, duplicates: 0 });
    await settle();

    // What NATS dead-lettered is what HTTP rejected.
    const dead: { id: string; code: string }[] = [];
    for await (const m of readStream(p.bus.js, p.bus.jsm, DLQ_STREAM))
      dead.push({ id: String(JSON.parse(m.string()).id), code: m.headers?.get(DLQ_HEADERS.code) ?? '' });
    expect(dead).toEqual(rejected);

    // Quote answers of the stream as stored, the HTTP copy's against the NATS copy's; and the bytes posted are the bytes stored.
    const quoter = new Quoter({ priceBook: config.priceBook, ladder: config.ladder, lateArrivalDays: config.lateArrivalDays });
    const answers: Record<'n' | 'h', string[]> = { n: [], h: [] };
    const stored = new Map<string, string>();
    for await (const m of readStream(p.bus.js, p.bus.jsm, USAGE_STREAM)) {
      const side = m.subject.startsWith('usage.n-') ? 'n' : 'h';
      stored.set(`${m.subject}/${m.headers?.get('Nats-Msg-Id')}`, m.string());
      answers[side].push(
        JSON.stringify(quoter.quoteLine(JSON.stringify({ subject: m.subject, payload: m.string() }), now)).replaceAll(`"${side}-acct`, '"acct'),
      );
    }
    // Over NATS the two broken records reach the stream and are quoted dead; over HTTP they were answered and never published.
    expect(answers.h.sort()).toEqual(answers.n.filter((a) => !a.startsWith('{"dead"')).sort());
    expect(answers.n.filter((a) => a.startsWith('{"dead"')).sort()).toEqual(['{"dead":"invalid_cost"}', '{"dead":"invalid_quantity"}']);
    expect(answers.h.length).toBe(overHttp.length - 2);
    expect(stored.get('usage.h-acct-x/h-acct-x/big')).toBe(exact('h-acct-x')[0]);
    expect(answers.h.some((a) => a.includes('"charge_micros":"9007199254740993"') || a.includes('"charge_micros":9007199254740993'))).toBe(true);

    for (const account of [...Array.from({ length: 12 }, (_, i) => `acct-${i}`), 'acct-x']) {
      const [viaNats, viaHttp] = await Promise.all([balanceOf(`n-${account}`), balanceOf(`h-${account}`)]);
      expect(viaHttp, account).toBe(viaNats);
      expect(viaHttp, account).toBeLessThan(0n);
    }
    expect(await balanceOf('h-acct-x')).toBeLessThanOrEqual(-9007199254740993n);
  }, 120_000);

  it('a request sent again three times is charged once: the retries are answered as duplicates', async () => {
    const body = JSON.stringify(Array.from({ length: 50 }, (_, i) => usage(`retry-${i}`, `retry-${i % 3}`)));
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await post(body)).body);
    expect(answers).toEqual([
      { accepted: 50, duplicates: 0, rejected: [] },
      ...Array.from({ length: 3 }, () => ({ accepted: 0, duplicates: 50, rejected: [] })),
    ]);
    await settle();
    const quoter = new Quoter({ priceBook: config.priceBook, ladder: config.ladder, lateArrivalDays: config.lateArrivalDays });
    const once = new Map<string, bigint>();
    for (const r of JSON.parse(body) as ReturnType<typeof usage>[]) {
      const q = quoter.quoteLine(JSON.stringify({ subject: `usage.${r.account_id}`, payload: JSON.stringify(r) }), Date.now());
      if ('charge_micros' in q) once.set(r.account_id, (once.get(r.account_id) ?? 0n) - BigInt(q.charge_micros));
    }
    for (const [account, expected] of once) expect(await balanceOf(account)).toBe(expected);
  }, 60_000);

  it("an account key posts its own account's records; another account's is refused with forbidden, that record only", async () => {
    const created = await call(api.url, 'POST', '/v1/admin/accounts/own-acct/keys');
    const key = created.body.key as string;
    const res = await post(JSON.stringify([usage('k-1', 'own-acct'), usage('k-2', 'other-acct'), usage('k-3', 'own-acct')]), key);
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(2);
    expect(res.body.rejected).toEqual([{ index: 1, code: 'forbidden', message: expect.stringContaining('other-acct') }]);
  });

  it('every rule of SPEC 3 is answered with its code, nothing dead-lettered; a body that is no batch is 400, one over 1 MiB 413', async () => {
    const now = new Date();
    const bad = badMessages(now).map(([code, , payload]) =>
      // Over HTTP the subject is the record's own: a mismatch is a CloudEvent naming another account than its data.
      code === 'subject_mismatch'
        ? [code, JSON.stringify({ specversion: '1.0', id: 'x5', source: 't', type: 'usage', subject: 'someone-else', data: usage('x5', 'acct-bad', {}, now) })]
        : [code, payload],
    );
    const dlqBefore = (await p.bus.jsm.streams.info(DLQ_STREAM)).state.messages;
    const res = await post(bad.map(([, payload]) => payload).join('\n'), ADMIN_TOKEN, 'application/x-ndjson');
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(0);
    expect(res.body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual(bad.map(([code], i) => [i, code]));
    expect((await p.bus.jsm.streams.info(DLQ_STREAM)).state.messages).toBe(dlqBefore);

    for (const [body, type] of [
      ['{"id":"r"}', 'application/json'],
      ['[', 'application/json'],
      ['[]', 'application/cloudevents-batch+json'],
      ['\n\n', 'application/x-ndjson'],
      [`[${Array.from({ length: 1001 }, () => '{}').join(',')}]`, 'application/json'],
    ]) {
      const refused = await post(body!, ADMIN_TOKEN, type);
      expect([refused.status, refused.body.error.code], body!.slice(0, 20)).toEqual([400, 'invalid_request']);
    }
    const huge = await post(`[${JSON.stringify(usage('h', 'acct-h', { meta: { pad: 'x'.repeat(1024 * 1024) } }))}]`);
    expect([huge.status, huge.body.error.code]).toEqual([413, 'body_too_large']);
    const text = await post('id=1', ADMIN_TOKEN, 'text/plain');
    expect([text.status, text.body.error.code]).toEqual([415, 'unsupported_media_type']);
    expect((await post('[]', null)).status).toBe(401);
  });

  it('a producer key posts for any account and reads nothing; revoked, it posts nothing', async () => {
    const created = await call(api.url, 'POST', '/v1/admin/producer-keys');
    expect(created.status).toBe(201);
    const { key, key_id } = created.body as { key: string; key_id: string };
    expect(key.startsWith('tp_')).toBe(true);
    const res = await post(JSON.stringify([usage('pk-1', 'prod-a'), usage('pk-2', 'prod-b')]), key, 'application/cloudevents-batch+json');
    expect(res.body).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    for (const path of ['/v1/accounts/prod-a', '/v1/accounts/prod-a/ledger', '/v1/accounts/prod-a/allocations']) {
      const read = await call(api.url, 'GET', path, { token: key });
      expect([read.status, read.body.error.code], path).toEqual([403, 'forbidden']);
    }
    const buy = await call(api.url, 'POST', '/v1/accounts/prod-a/plan', { token: key, body: { plan_id: 'basic' } });
    expect([buy.status, buy.body.error.code]).toEqual([403, 'forbidden']);
    // Admin routes take the admin token only: any other credential is 401 (decision 011, "Limits"; SPEC 13 and 14 ask no 403 there).
    const admin = await call(api.url, 'GET', '/v1/admin/producer-keys', { token: key });
    expect([admin.status, admin.body.error.code]).toEqual([401, 'unauthorized']);
    expect((await call(api.url, 'GET', '/v1/admin/producer-keys')).body.keys).toEqual([{ key_id, created_at: created.body.created_at }]);
    expect((await call(api.url, 'DELETE', `/v1/admin/producer-keys/${key_id}`)).body.revoked).toBe(true);
    expect((await post(JSON.stringify([usage('pk-3', 'prod-a')]), key)).status).toBe(401);
    expect((await call(api.url, 'GET', '/v1/admin/producer-keys')).body.keys).toEqual([]);
  });
  /** Posts `body` and expects 503 `unavailable` with `retry-after: 2`. */
  const expectUnavailable = async (body: string): Promise<void> => {
    const refused = await fetch(`${api.url}/v1/usage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  };

  // Near the end: it takes NATS away.
  it('NATS down: 503 with retry-after; the same request sent again once NATS is back is charged once', async () => {
    const body = JSON.stringify(
      Array.from({ length: 20 }, (_, i) => usage(`down-${i}`, 'acct-down', { kind: 'other', applies_to: 'hero_os_hourly', quantity: 1, cost_micros: 1000 })),
    );
    await servers.kill('nats');
    await expectUnavailable(body);
    await servers.restart('nats');
    let answer = await post(body);
    for (let i = 0; i < 60 && answer.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      answer = await post(body);
    }
    expect(answer.status).toBe(200);
    expect(answer.body.accepted + answer.body.duplicates).toBe(20);
    await settle();
    expect(await balanceOf('acct-down')).toBe(-20_000n);
  }, 120_000);

  it('the usage stream full: 503 with retry-after while JetStream refuses records; once it has room the same request is charged once', async () => {
    const body = JSON.stringify(
      Array.from({ length: 20 }, (_, i) => usage(`full-${i}`, 'acct-full', { kind: 'other', applies_to: 'hero_os_hourly', quantity: 1, cost_micros: 1000 })),
    );
    const stream = await p.bus.jsm.streams.info(USAGE_STREAM);
    // Room for a few of the 20 records (~170 bytes each), not all: JetStream stores some and refuses the rest (discard new).
    await p.bus.jsm.streams.update(USAGE_STREAM, { max_bytes: stream.state.bytes + 1000 });
    try {
      await expectUnavailable(body);
      const stored = (await p.bus.jsm.streams.info(USAGE_STREAM)).state.messages - stream.state.messages;
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(20);
    } finally {
      await p.bus.jsm.streams.update(USAGE_STREAM, { max_bytes: stream.config.max_bytes });
    }
    const answer = await post(body);
    expect(answer.status).toBe(200);
    expect(answer.body.duplicates).toBeGreaterThan(0);
    expect(answer.body.accepted + answer.body.duplicates).toBe(20);
    await settle();
    expect(await balanceOf('acct-full')).toBe(-20_000n);
  });
});
