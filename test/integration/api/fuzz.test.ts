import fc from 'fast-check';
import type { Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../../../shared/domain/index.js';
import { COLLECTIONS } from '../../../shared/store/internal.js';
import { connectMongo, verifyLedger, type MongoConnection } from '../../../shared/store/index.js';
import { signBody, startApi, type RunningApi } from '../../../services/api/index.js';
import { startWorker } from '../../../services/worker/main.js';
import { startTestServers, testLogger, type TestServers } from '../../support/servers.js';
import { ADMIN_TOKEN, WEBHOOK_SECRET, apiEnv, configOf, pay } from '../../support/api.js';
import { fuzzRequest, type FuzzPools, type FuzzRequest } from '../../support/fuzzRequests.js';

/**
 * Issue #27 §3: seeded random requests over every route the app registered (listed by
 * fastify itself, so a new route is covered without being named here): odd paths, queries,
 * bodies, content types and credentials. No answer is a 5xx; every refusal carries a
 * registry code with its status (JSON, or the page's HTML on page routes); a refused
 * request stores nothing; the ledger still verifies at the end.
 * The seed is fixed unless FUZZ_SEED gives another, so CI runs the same requests every time
 * (a random seed made the mix's 2xx share, checked below, a coin toss near its floor: 141 of
 * 3000 at seed 1661880835). Explore with FUZZ_SEED=<any>, replay a failure with the seed
 * printed; FUZZ_RUNS (default 3000, ~35 s on two cores) sets the count.
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20_261_207);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 3000);

/** Counts of what a request may store: a refused one must leave them as they were. */
async function stored(db: Db): Promise<string> {
  const names = [COLLECTIONS.ledger, COLLECTIONS.allocations, COLLECTIONS.accountKeys, COLLECTIONS.redriveRuns];
  return (await Promise.all(names.map((n) => db.collection(n).countDocuments()))).join('/');
}

const PAGE = /^\/(?:$|account|login|logout|admin\/queues)/;

describe(`HTTP fuzz of every route (FUZZ_SEED=${SEED})`, () => {
  let servers: TestServers;
  let mongo: MongoConnection;
  let api: RunningApi;
  let stopWorker: () => Promise<void>;
  const pools = {} as FuzzPools;

  beforeAll(async () => {
    servers = await startTestServers();
    const env = apiEnv(servers, {
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_KEY_PER_MINUTE: '1000000',
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000000',
      RATE_LIMIT_PAUSE_MS: '0',
    });
    const config = configOf(servers, env);
    const logger = testLogger();
    const worker = await startWorker(config, servers, logger);
    stopWorker = () => worker.stop();
    api = await startApi({ ...config, httpPort: 0 }, servers, logger);
    mongo = await connectMongo(servers.mongoUrl, config.mongoDb);
    for (const [id, amount] of [
      ['acct-a', 50_000_000],
      ['acct-b', 3_000_000],
    ] as const) {
      expect((await pay(api.url, { payment_id: `p-${id}`, account_id: id, amount_micros: amount, paid_at: '2026-01-01T00:00:00Z' })).status).toBe(200);
    }
    const created = await fetch(`${api.url}/v1/admin/accounts/acct-a/keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const { key, key_id } = (await created.json()) as { key: string; key_id: string };
    const producer = await fetch(`${api.url}/v1/admin/producer-keys`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const producerKey = ((await producer.json()) as { key: string }).key;
    const cookieOf = async (path: string, form: string) => {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
      return res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
    };
    Object.assign(pools, {
      adminToken: ADMIN_TOKEN,
      accountKey: key,
      producerKey,
      keyId: key_id,
      operatorCookie: await cookieOf('/login', `token=${encodeURIComponent(ADMIN_TOKEN)}`),
      accountCookie: await cookieOf('/account/login', `key=${encodeURIComponent(key)}`),
      sign: (raw: string) => signBody(raw, WEBHOOK_SECRET),
    } satisfies FuzzPools);
    expect(pools.operatorCookie).toContain('=');
    expect(pools.accountCookie).toContain('=');
  });
  afterAll(async () => {
    await api?.stop();
    await stopWorker?.();
    await mongo?.close();
    await servers?.stop();
  });

  it('lists the routes from fastify itself, the account page and the operator surfaces among them', () => {
    const urls = new Set(api.routes.map((r) => `${r.method} ${r.url}`));
    for (const route of ['POST /account/login', 'POST /account/plan', 'POST /v1/webhooks/payment', 'GET /v1/accounts/:id', 'POST /login', 'GET /admin/queues'])
      expect(urls).toContain(route);
  });

  it(`${RUNS} seeded requests: no 5xx, every refusal a registry code, nothing stored from a refusal`, async () => {
    const requests = fc.sample(fuzzRequest(api.routes, pools), { seed: SEED, numRuns: RUNS });
    const statuses = new Map<number, number>();
    let before = await stored(mongo.db);
    for (const [i, req] of requests.entries()) {
      const res = await send(api.url, req);
      const text = await res.text();
      const where = `FUZZ_SEED=${SEED} request #${i}: ${req.method} ${req.path.slice(0, 300)} ${JSON.stringify(req.headers)} body=${JSON.stringify(req.body?.slice(0, 300))} -> ${res.status} ${text.slice(0, 300)}`;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, where).toBeLessThan(500);
      if (res.status >= 400 && req.method !== 'HEAD') {
        const type = res.headers.get('content-type') ?? '';
        if (type.startsWith('application/json')) {
          const error = (JSON.parse(text) as { error?: { code?: string; key?: string } }).error;
          const code = error?.code ?? '';
          // bull-board's own API answers its UI's translation keys (`{"error": {"key"}}`), left as they are.
          const board = req.path.startsWith('/admin/queues/api/') && typeof error?.key === 'string';
          expect(board || (isErrorCode(code) && ERROR_CODES[code].status === res.status), where).toBe(true);
        } else {
          expect(type.startsWith('text/html') && PAGE.test(req.path), where).toBe(true);
        }
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const after = await stored(mongo.db);
        if (res.status >= 400) expect(after, `${where}: stored something`).toBe(before);
        before = after;
      }
    }
    // The mix reached the routes' insides, not only their doors.
    const count = (lo: number, hi: number) => [...statuses].filter(([s]) => s >= lo && s < hi).reduce((n, [, c]) => n + c, 0);
    expect(count(200, 400), JSON.stringify([...statuses])).toBeGreaterThan(RUNS / 20);
    expect(count(400, 500)).toBeGreaterThan(RUNS / 4);
  }, 120_000);

  it('the ledger verifies afterwards: every balance is the sum of its entries, every entry folded', async () => {
    const deadline = Date.now() + 30_000;
    let result = await verifyLedger(mongo.db);
    while (result.mismatches.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      result = await verifyLedger(mongo.db);
    }
    expect(result.mismatches).toEqual([]);
    expect(result.accounts).toBeGreaterThanOrEqual(2);
  }, 40_000);
});

function send(base: string, req: FuzzRequest): Promise<Response> {
  return fetch(`${base}${req.path}`, {
    method: req.method,
    headers: req.headers,
    redirect: 'manual',
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
}
