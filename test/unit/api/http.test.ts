import fc from 'fast-check';
import type { Db } from 'mongodb';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/index.js';
import type { ShardQueues } from '../../../shared/queue/index.js';
import { BODY_LIMIT_BYTES, buildApi, signBody } from '../../../services/api/index.js';

const ADMIN = 'unit-admin-token-0123456789';
const SECRET = 'unit-webhook-secret-0123456789';
let failStats: Error = new Error('boom');
let ready = true;

/** No store, no queues: these paths must answer before touching either. */
const app = buildApi(
  { ...loadConfig({}), adminToken: ADMIN, webhookSecret: SECRET, rateLimitPauseMs: 0 },
  {
    db: {} as Db,
    queues: {} as ShardQueues,
    logger: pino({ level: 'silent' }),
    stats: async () => {
      throw failStats;
    },
    ready: async () => {
      if (!ready) throw new Error('connect ECONNREFUSED');
    },
  },
);
afterAll(() => app.close());

const json = (res: { body: string }) => JSON.parse(res.body) as { error: { code: string; message: string } };

describe('API error mapping (no servers)', () => {
  it('an unexpected failure is 500 with the code internal, a dependency that does not answer 503 unavailable', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/stats' });
    expect(res.statusCode).toBe(500);
    expect(json(res).error.code).toBe('internal');
    failStats = Object.assign(new Error('Server selection timed out'), { name: 'MongoServerSelectionError' });
    expect(json(await app.inject({ method: 'GET', url: '/v1/stats' })).error.code).toBe('unavailable');
    ready = false;
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect([notReady.statusCode, json(notReady).error.code]).toEqual([503, 'unavailable']);
    ready = true;
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', ready: true });
  });

  it('unknown routes are 404 not_found; bodies over the limit 413 body_too_large; other content types 415 unsupported_media_type', async () => {
    expect(json(await app.inject({ method: 'DELETE', url: '/v1/accounts/a' })).error.code).toBe('not_found');
    const big = await app.inject({
      method: 'POST',
      url: '/v1/accounts/a/plan',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      payload: `"${'x'.repeat(BODY_LIMIT_BYTES)}"`,
    });
    expect([big.statusCode, json(big).error.code]).toEqual([413, 'body_too_large']);
    for (const type of ['multipart/form-data; boundary=b', 'application/x-ndjson', 'text/plain']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/accounts/a/plan',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': type },
        payload: 'x',
      });
      expect([res.statusCode, json(res).error.code]).toEqual([415, 'unsupported_media_type']);
    }
  });

  it("the account page's forms answer a body they do not parse with the HTML error page and 415, not 500 (issue #27 §3)", async () => {
    for (const url of ['/account/login', '/account/plan', '/account/vms', '/account/logout']) {
      for (const type of ['multipart/form-data; boundary=b', 'application/x-ndjson', 'text/plain']) {
        const res = await app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload: '--b--' });
        expect([url, type, res.statusCode, res.headers['content-type']]).toEqual([url, type, 415, 'text/html; charset=utf-8']);
      }
    }
  });

  it('checks the signature over the raw bytes before reading the body', async () => {
    const raw = '{"payment_id": "p1", oops';
    const unsigned = await app.inject({ method: 'POST', url: '/v1/webhooks/payment', headers: { 'content-type': 'application/json' }, payload: raw });
    expect([unsigned.statusCode, json(unsigned).error.code]).toEqual([401, 'unauthorized']);
    const signed = await app.inject({
      method: 'POST',
      url: '/v1/webhooks/payment',
      headers: { 'content-type': 'application/json', 'x-tally-signature': signBody(raw, SECRET) },
      payload: raw,
    });
    expect([signed.statusCode, json(signed).error.code]).toEqual([400, 'invalid_request']);
  });

  it('accepts the admin token only as an exact Bearer match', async () => {
    for (const authorization of [ADMIN, `Bearer ${ADMIN}x`, `Bearer ${ADMIN.slice(1)}`, 'Bearer', `Basic ${ADMIN}`]) {
      const res = await app.inject({ method: 'POST', url: '/v1/admin/ladder-tick', headers: { authorization } });
      expect([res.statusCode, json(res).error.code]).toEqual([401, 'unauthorized']);
    }
  });

  it('any unsigned webhook body is 401, whatever its bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), fc.string({ maxLength: 80 }), async (payload, signature) => {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/webhooks/payment',
          headers: { 'content-type': 'application/json', 'x-tally-signature': signature },
          payload,
        });
        expect(res.statusCode).toBe(401);
        expect(json(res).error.code).toBe('unauthorized');
      }),
      { numRuns: 200 },
    );
  });
});
