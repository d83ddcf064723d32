import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Config } from '../../../shared/config/index.js';
import { redisGroup } from '../../../shared/redis/index.js';
import { connectMongo, type MongoConnection } from '../../../shared/store/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';
import { hashKey } from '../../../services/api/index.js';
import { startWorker } from '../../../services/worker/main.js';
import { ARTIFACTS_DIR } from '../../support/browser.js';
import { testLogger } from '../../support/servers.js';
import { ADMIN_TOKEN, apiEnv, call, configOf, pay, spawnApi, type ApiProcess } from '../../support/api.js';

type Row = { method: string; path: string; body?: unknown };

/**
 * SPEC 13 "Who may call what", row by row, over two `tally api` processes sharing one store
 * and one Redis: the admin token or a key of the account may call `/v1/accounts/:id/*`;
 * another account's key is 403 forbidden; no, a malformed, a wrong or a revoked key 401.
 */
describe('account keys: who may call what', () => {
  const servers = inject('servers');
  let env: Record<string, string>;
  let config: Config;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let apis: ApiProcess[] = [];
  let mongo: MongoConnection;
  let logs = '';
  const issued: string[] = [];
  const observed: string[] = [];

  const url = (i: number): string => apis[i % apis.length]!.url;
  const createKey = async (account: string, i = 0): Promise<{ key_id: string; key: string }> => {
    const answer = await call(url(i), 'POST', `/v1/admin/accounts/${account}/keys`);
    expect(answer.status).toBe(201);
    issued.push(answer.body.key);
    return answer.body;
  };

  beforeAll(async () => {
    // Dozens of deliberate refusals: the budget of refused sign-ins (test/integration/ops/signInLimit.test.ts) is raised here.
    env = apiEnv(servers, { LOG_LEVEL: 'debug', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000' });
    config = configOf(servers, env);
    worker = await startWorker(config, servers, testLogger());
    apis = await Promise.all([0, 1].map(() => spawnApi(env, { onStderr: (chunk) => (logs += chunk) })));
    mongo = await connectMongo(servers.mongoUrl, config.mongoDb);
    // acct-a exists with 1 USD: enough to read, not enough for a plan, so writes answer domain errors and change nothing.
    expect((await pay(url(0), { payment_id: 'p-a', account_id: 'acct-a', amount_micros: 1_000_000, paid_at: '2026-01-01T00:00:00Z' })).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await worker?.stop();
    await mongo?.close();
    if (observed.length > 0) {
      await mkdir(ARTIFACTS_DIR, { recursive: true });
      await writeFile(join(ARTIFACTS_DIR, 'who-may-call-what.md'), ['| route | caller | status | code |', '|---|---|---|---|', ...observed].join('\n') + '\n');
    }
  });

  it('admin token and own key pass; another account key is 403; none, malformed, wrong, unknown or revoked key is 401', async () => {
    const a = await createKey('acct-a');
    const b = await createKey('acct-b', 1);
    const revoked = await createKey('acct-a');
    expect((await call(url(1), 'DELETE', `/v1/admin/accounts/acct-a/keys/${revoked.key_id}`)).status).toBe(200);
    const wrongSecret = `tk_${a.key_id}_${'A'.repeat(43)}`;
    const unknownId = `tk_0123456789abcdef_${a.key.slice(-43)}`;
    const routes: (Row & { ok: [number, string | null] })[] = [
      { method: 'GET', path: '/v1/accounts/acct-a', ok: [200, null] },
      { method: 'GET', path: '/v1/accounts/acct-a/ledger', ok: [200, null] },
      { method: 'GET', path: '/v1/accounts/acct-a/allocations', ok: [200, null] },
      { method: 'POST', path: '/v1/accounts/acct-a/plan', body: { plan_id: 'basic' }, ok: [402, 'insufficient_balance'] },
      { method: 'POST', path: '/v1/accounts/acct-a/vms', ok: [409, 'no_active_plan'] },
    ];
    const callers: [string, string | null, 'ok' | [number, string]][] = [
      ['admin token', ADMIN_TOKEN, 'ok'],
      ['key of acct-a', a.key, 'ok'],
      ['key of acct-b', b.key, [403, 'forbidden']],
      ['no authorization', null, [401, 'unauthorized']],
      ['malformed bearer', 'not-a-key', [401, 'unauthorized']],
      ['acct-a key id, wrong secret', wrongSecret, [401, 'unauthorized']],
      ['unknown key id', unknownId, [401, 'unauthorized']],
      ['revoked key of acct-a', revoked.key, [401, 'unauthorized']],
    ];
    let n = 0;
    for (const route of routes) {
      for (const [who, token, expected] of callers) {
        const answer = await call(url(n++), route.method, route.path, { token, ...(route.body ? { body: route.body } : {}) });
        const [status, code] = expected === 'ok' ? route.ok : expected;
        expect([answer.status, answer.body?.error?.code ?? null], `${route.method} ${route.path} as ${who}`).toEqual([status, code]);
        observed.push(`| ${route.method} ${route.path} | ${who} | ${answer.status} | ${answer.body?.error?.code ?? '—'} |`);
      }
    }
    // Admin routes stay admin-only: an account's own key does not open them; the webhook wants its signature.
    const adminOnly: Row[] = [
      { method: 'POST', path: '/v1/admin/accounts/acct-a/keys' },
      { method: 'GET', path: '/v1/admin/accounts/acct-a/keys' },
      { method: 'DELETE', path: `/v1/admin/accounts/acct-a/keys/${a.key_id}` },
      { method: 'POST', path: '/v1/admin/ladder-tick', body: {} },
      { method: 'POST', path: '/v1/admin/accounts/acct-a/kyc', body: { verified: true } },
      { method: 'POST', path: '/v1/webhooks/payment', body: { payment_id: 'x', account_id: 'acct-a', amount_micros: 1, paid_at: '2026-01-01T00:00:00Z' } },
    ];
    for (const route of adminOnly) {
      const answer = await call(url(n++), route.method, route.path, { token: a.key, ...(route.body ? { body: route.body } : {}) });
      expect([answer.status, answer.body.error.code], `${route.method} ${route.path}`).toEqual([401, 'unauthorized']);
      observed.push(`| ${route.method} ${route.path} | key of acct-a | ${answer.status} | ${answer.body.error.code} |`);
    }
  });

  it('the account read begun while the caller is checked tells a refused caller nothing: 401 and 403 before 404, a bad query 400 before 404', async () => {
    const b = await createKey('acct-z', 1);
    for (const path of ['/v1/accounts/acct-nobody', '/v1/accounts/acct-nobody/usage']) {
      expect((await call(url(0), 'GET', path, { token: null })).body.error.code, path).toBe('unauthorized');
      expect((await call(url(1), 'GET', path, { token: b.key })).body.error.code, path).toBe('forbidden');
      expect((await call(url(0), 'GET', path, { token: ADMIN_TOKEN })).body.error.code, path).toBe('account_not_found');
    }
    expect((await call(url(1), 'GET', '/v1/accounts/acct-nobody/usage?window=week', { token: ADMIN_TOKEN })).body.error.code).toBe('invalid_query');
    expect((await call(url(1), 'GET', '/v1/accounts/acct-a/usage?window=week', { token: b.key })).body.error.code).toBe('forbidden');
    expect((await call(url(0), 'GET', '/v1/accounts/acct-a/usage', { token: ADMIN_TOKEN })).status).toBe(200);
  });

  it('a revoked key is refused at once by every API process, also after Redis lost the revocation set', async () => {
    const k = await createKey('acct-a', 0);
    // Warm the other process's key cache first: revocation must not wait for it to expire.
    for (const i of [0, 1]) expect((await call(url(i), 'GET', '/v1/accounts/acct-a', { token: k.key })).status).toBe(200);
    const revoke = await call(url(0), 'DELETE', `/v1/admin/accounts/acct-a/keys/${k.key_id}`);
    expect(revoke.body).toMatchObject({ key_id: k.key_id, revoked: true });
    for (const i of [1, 0]) expect((await call(url(i), 'GET', '/v1/accounts/acct-a', { token: k.key })).body.error.code).toBe('unauthorized');
    // Revoking again is idempotent: same instant.
    expect((await call(url(1), 'DELETE', `/v1/admin/accounts/acct-a/keys/${k.key_id}`)).body.revoked_at).toBe(revoke.body.revoked_at);
    // Redis emptied of the set (FLUSHALL, a restart without data): rebuilt from the store before answering.
    const redis = new Redis(servers.redisUrl);
    try {
      await redis.del(`${redisGroup(config.mongoDb, 'keys')}:revoked`, `${redisGroup(config.mongoDb, 'keys')}:revoked:loaded`);
      for (const i of [1, 0]) expect((await call(url(i), 'GET', '/v1/accounts/acct-a', { token: k.key })).status).toBe(401);
      expect(await redis.sismember(`${redisGroup(config.mongoDb, 'keys')}:revoked`, k.key_id)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it('lists ids and creation times only; revoking an unknown key or another account key is 404', async () => {
    const listed = await call(url(1), 'GET', '/v1/admin/accounts/acct-b/keys');
    expect(listed.body.keys.length).toBe(1);
    expect(Object.keys(listed.body.keys[0]).sort()).toEqual(['created_at', 'key_id']);
    const b = listed.body.keys[0].key_id as string;
    expect((await call(url(0), 'DELETE', `/v1/admin/accounts/acct-a/keys/${b}`)).body.error.code).toBe('not_found');
    expect((await call(url(0), 'DELETE', '/v1/admin/accounts/acct-a/keys/ffffffffffffffff')).body.error.code).toBe('not_found');
    expect((await call(url(0), 'DELETE', '/v1/admin/accounts/acct-a/keys/nope')).body.error.code).toBe('invalid_request');
  });

  it('the account page: a key signs in (the cookie is not the key), sign-out ends the session, revocation ends it at once', async () => {
    const k = await createKey('acct-a', 1);
    const login = await fetch(`${url(0)}/account/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `key=${encodeURIComponent(k.key)}`,
    });
    expect([login.status, login.headers.get('location')]).toEqual([303, '/account']);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^tally_account=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    const cookie = setCookie.split(';')[0]!;
    // Sessions live in Redis: the other process knows this one too.
    const page = await fetch(`${url(1)}/account`, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-testid="account-id">acct-a<');
    const bad = await fetch(`${url(1)}/account/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'key=tk_nope',
    });
    expect(bad.headers.get('location')).toBe('/account/login?error=unauthorized');
    expect((await call(url(0), 'DELETE', `/v1/admin/accounts/acct-a/keys/${k.key_id}`)).status).toBe(200);
    const after = await fetch(`${url(1)}/account`, { headers: { cookie }, redirect: 'manual' });
    expect([after.status, after.headers.get('location')]).toEqual([303, '/account/login?ok=session_ended']);

    const k2 = await createKey('acct-a', 0);
    const login2 = await fetch(`${url(1)}/account/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `key=${encodeURIComponent(k2.key)}`,
    });
    const cookie2 = (login2.headers.get('set-cookie') ?? '').split(';')[0]!;
    const out = await fetch(`${url(0)}/account/logout`, { method: 'POST', headers: { cookie: cookie2 }, redirect: 'manual' });
    expect(out.headers.get('location')).toBe('/account/login?ok=signed_out');
    expect((await fetch(`${url(1)}/account`, { headers: { cookie: cookie2 }, redirect: 'manual' })).headers.get('location')).toBe(
      '/account/login?ok=session_ended',
    );
  });

  it('keys appear only in their creation answer: the store holds SHA-256 hashes, logs and later answers never the key', async () => {
    expect(issued.length).toBeGreaterThanOrEqual(5);
    const docs = await mongo.db.collection<{ _id: string; hash?: string }>(COLLECTIONS.accountKeys).find({}).toArray();
    const stored = JSON.stringify(docs);
    const answers = JSON.stringify([
      (await call(url(0), 'GET', '/v1/admin/accounts/acct-a/keys')).body,
      (await call(url(1), 'GET', '/v1/accounts/acct-a')).body,
      (await call(url(0), 'GET', '/v1/accounts/acct-a/ledger')).body,
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(logs.length).toBeGreaterThan(0);
    for (const key of issued) {
      const secret = key.slice(-43);
      for (const [where, text] of [
        ['store', stored],
        ['answers', answers],
        ['logs', logs],
      ] as const) {
        expect(text.includes(secret), `secret of a key found in ${where}`).toBe(false);
      }
      const id = key.slice(3, 19);
      expect(docs.find((d) => d._id === id)?.hash).toBe(hashKey(key));
    }
  });
});
