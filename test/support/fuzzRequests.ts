/** Random HTTP requests for the API fuzz test (test/integration/api/fuzz.test.ts). */
import fc from 'fast-check';
import type { RouteEntry } from '../../services/api/index.js';

/** Credentials and ids of the running stack the requests draw from. */
export interface FuzzPools {
  adminToken: string;
  accountKey: string;
  /** A producer key (issue 31): posts usage, reads nothing. */
  producerKey: string;
  keyId: string;
  operatorCookie: string;
  accountCookie: string;
  sign(raw: string): string;
}

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Strings a parser chokes on: unicode, NUL, control characters, very long, number-like. */
const odd = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '..',
    '%',
    '%zz',
    'null',
    'true',
    '-1',
    '0',
    '1e309',
    'NaN',
    '9007199254740993',
    '💩',
    'é',
    '\u202e',
    '<script>',
    "'",
    '"',
    '\\',
    '{',
    '[]',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(200, 5_000).map((n) => 'x'.repeat(n)),
);

/** Path parameter values: real ids (so routes run their insides) and odd ones, percent-encoded or raw. */
const param = (pools: FuzzPools) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('acct-a', 'acct-b', 'acct-ghost', pools.keyId, '1', 'basic', 'overview') },
    { weight: 2, arbitrary: odd.map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.constantFrom('%00', '%2F', 'a%2Fb', '%E0%A4%A', '%F0%9F%92%A9', '%25', '..%2F..', '%C0%AF') },
  );

const FIELDS = [
  'plan_id',
  'payment_id',
  'account_id',
  'amount_micros',
  'paid_at',
  'verified',
  'now',
  'adjustment_id',
  'reason',
  'low_balance_micros',
  'key',
  'token',
  'next',
  'seqs',
  'code',
  'ids',
  'limit',
  'id',
  'kind',
  'quantity',
  'occurred_at',
];

const value = fc.oneof(
  odd,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('basic', 'pro', 'acct-a', '2026-01-01T00:00:00Z', 1_000_000, [1, 2], {}),
);

/** A JSON-ish object with the routes' own field names, so validation goes past the first check. */
const shaped = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }), value, {
  maxKeys: 6,
});

const query = fc.dictionary(
  fc.constantFrom('limit', 'after', 'from', 'to', 'window', 'group_by', 'search', 'code', 'next', 'ok', 'error', 'seq', 'x'),
  fc.oneof(odd, fc.constantFrom('1', '500', '0', 'hour', 'day', 'kind', 'applies_to', '2026-01-01T00:00:00Z')),
  { maxKeys: 4 },
);

const form = (o: Record<string, unknown>) =>
  new URLSearchParams(Object.entries(o).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();

/** The body's bytes, independent of the content type (a mismatch is part of the fuzz). */
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: shaped.map((o) => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 2, arbitrary: shaped.map(form) },
  { weight: 1, arbitrary: fc.array(shaped, { maxLength: 3 }).map((rows) => rows.map((r) => JSON.stringify(r)).join('\n')) },
  { weight: 1, arbitrary: odd },
  {
    weight: 1,
    arbitrary: shaped.map(
      (o) =>
        Object.entries(o)
          .map(([k, v]) => `--b0\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${String(v)}\r\n`)
          .join('') + '--b0--\r\n',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(70_000, 1_100_000).map((n) => JSON.stringify({ plan_id: 'x'.repeat(n) })) },
);

const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=b0',
  'application/x-ndjson',
  'text/plain',
  'application/cloudevents-batch+json',
  'garbage',
  ';;;',
  'application/json; charset=utf-16',
  '*/*',
  'application/octet-stream',
);

export function fuzzRequest(routes: readonly RouteEntry[], pools: FuzzPools): fc.Arbitrary<FuzzRequest> {
  // The admin token twice: it opens every route, so that share of requests reaches the routes' insides.
  const credential = fc.constantFrom<Record<string, string>>(
    {},
    { authorization: `Bearer ${pools.adminToken}` },
    { authorization: `Bearer ${pools.adminToken}` },
    { authorization: `Bearer ${pools.producerKey}` },
    { authorization: `Bearer ${pools.accountKey}` },
    { authorization: `Bearer ${pools.accountKey.slice(0, -2)}zz` },
    { authorization: 'Bearer ' },
    { authorization: `Basic ${pools.adminToken}` },
    { cookie: pools.operatorCookie },
    { cookie: pools.accountCookie },
    { cookie: 'tally_account=nothing; tally_operator=%00' },
  );
  return fc
    .record({
      route: fc.constantFrom(...routes),
      otherMethod: fc.option(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'), { freq: 8 }),
      params: fc.array(param(pools), { minLength: 4, maxLength: 4 }),
      query: fc.option(query, { freq: 2 }),
      credential,
      origin: fc.option(fc.constantFrom('https://evil.example', 'null', 'not a url'), { freq: 4 }),
      signed: fc.boolean(),
      type: contentType,
      body,
    })
    .map(({ route, otherMethod, params, query: q, credential: cred, origin, signed, type, body: b }) => {
      const method = otherMethod ?? route.method;
      let n = 0;
      const path = route.url.replace(/:[A-Za-z_]+|\*/g, () => params[n++ % params.length]!);
      const search =
        q === null
          ? ''
          : `?${Object.entries(q)
              .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
              .join('&')}`;
      const headers: Record<string, string> = { ...cred };
      if (origin !== null) headers['origin'] = origin;
      const withBody = method !== 'GET' && method !== 'HEAD' && b !== undefined;
      if (type !== undefined) headers['content-type'] = type;
      if (withBody && signed) headers['x-tally-signature'] = pools.sign(b);
      return { method, path: `${path}${search}`, headers, ...(withBody ? { body: b } : {}) };
    });
}
