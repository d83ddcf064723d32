import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_CODES, MAX_META_BYTES, jsonBytesWithin, parsePriceBook, validateRecord, type DeadLetterCode } from '../../../shared/domain/index.js';
import { CTX, DAY, iso, msg, NOW, v1 } from './helpers.js';

function codeOf(input: { subject: string; payload: string | Uint8Array }, ctx = CTX): DeadLetterCode | 'ok' {
  const result = validateRecord(input, ctx);
  return result.ok ? 'ok' : result.code;
}

describe('validateRecord: a valid v1 record', () => {
  it('normalizes every field', () => {
    const result = validateRecord(msg(v1({ quantity: 0.3, applies_to: 'llm', cost_micros: 42, meta: { model: 'x' } })), CTX);
    expect(result).toEqual({
      ok: true,
      record: {
        id: 'rec-1',
        accountId: 'acct-1',
        kind: 'llm_token',
        quantity: 300_000n,
        appliesTo: 'llm',
        occurredAt: NOW - DAY,
        costMicros: 42n,
        meta: { model: 'x' },
      },
    });
  });

  it('defaults applies_to to hero_os_hourly and treats null optionals as absent', () => {
    const result = validateRecord(msg(v1({ applies_to: null, cost_micros: null, meta: null })), CTX);
    expect(result.ok && result.record).toMatchObject({ appliesTo: 'hero_os_hourly', costMicros: null, meta: null });
  });

  it('accepts bytes as well as text, and ignores unknown fields', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(v1({ extra: [1, 2] })));
    expect(codeOf({ subject: 'usage.acct-1', payload: bytes })).toBe('ok');
  });

  it.each(['vm_hour', 'llm_token', 'hero_os_hour'])('accepts kind %s', (kind) => {
    expect(codeOf(msg(v1({ kind })))).toBe('ok');
  });

  it.each(['hero_os_hourly', 'llm', 'vm'])('accepts applies_to %s', (appliesTo) => {
    expect(codeOf(msg(v1({ applies_to: appliesTo })))).toBe('ok');
  });

  it('accepts kind other when it carries cost_micros', () => {
    expect(codeOf(msg(v1({ kind: 'other', cost_micros: 5 })))).toBe('ok');
  });
});

/** Every rule of SPEC 3, each broken on its own. */
const cases: [DeadLetterCode, string, { subject: string; payload: string | Uint8Array }][] = [
  ['too_large', 'payload over 8192 bytes', msg(v1({ meta: { pad: 'x'.repeat(8200) } }))],
  ['too_large', 'multi-byte text over 8192 bytes', msg(v1({ note: 'é'.repeat(4100) }))],
  ['malformed_json', 'not JSON', msg('{"id": ')],
  ['malformed_json', 'a JSON array', msg('[1,2]')],
  ['malformed_json', 'a JSON string', msg('"hello"')],
  ['malformed_json', 'JSON null', msg('null')],
  ['malformed_json', 'invalid UTF-8 bytes', { subject: 'usage.acct-1', payload: new Uint8Array([0x7b, 0xff, 0x7d]) }],
  ['malformed_json', 'CloudEvent of another spec version', msg({ specversion: '0.3', data: v1() })],
  ['malformed_json', 'CloudEvent without an object data', msg({ specversion: '1.0', data: 'x' })],
  ['malformed_json', 'CloudEvent with a non-JSON content type', msg({ specversion: '1.0', datacontenttype: 'text/plain', data: v1() })],
  ['invalid_id', 'id missing', msg(v1({ id: undefined }))],
  ['invalid_id', 'id empty', msg(v1({ id: '' }))],
  ['invalid_id', 'id of 129 characters', msg(v1({ id: 'a'.repeat(129) }))],
  ['invalid_id', 'id with a space', msg(v1({ id: 'a b' }))],
  ['invalid_id', 'id with a slash', msg(v1({ id: 'a/b' }))],
  ['invalid_id', 'id a number', msg(v1({ id: 7 }))],
  ['invalid_account', 'account_id missing', msg(v1({ account_id: undefined }))],
  ['invalid_account', 'account_id empty', msg(v1({ account_id: '' }), 'usage.')],
  ['invalid_account', 'account_id of 65 characters', msg(v1({ account_id: 'a'.repeat(65) }), `usage.${'a'.repeat(65)}`)],
  ['invalid_account', 'account_id with a dot', msg(v1({ account_id: 'a.b' }), 'usage.a.b')],
  ['subject_mismatch', 'another account in the subject', msg(v1(), 'usage.acct-2')],
  ['subject_mismatch', 'subject without the account', msg(v1(), 'usage')],
  ['invalid_kind', 'kind missing', msg(v1({ kind: undefined }))],
  ['invalid_kind', 'kind unknown', msg(v1({ kind: 'gpu_hour' }))],
  ['invalid_kind', 'kind in capitals', msg(v1({ kind: 'LLM_TOKEN' }))],
  ['invalid_quantity', 'quantity missing', msg(v1({ quantity: undefined }))],
  ['invalid_quantity', 'quantity negative', msg(v1({ quantity: -1 }))],
  ['invalid_quantity', 'quantity with 7 decimals', msg(v1({ quantity: 0.0000001 }))],
  ['invalid_quantity', 'quantity as a string', msg(v1({ quantity: '5' }))],
  ['invalid_quantity', 'quantity beyond Int64 once scaled', msg('{"id":"r","account_id":"acct-1","kind":"vm_hour","quantity":1e300}')],
  ['invalid_quantity', 'quantity overflowing to Infinity', msg('{"id":"r","account_id":"acct-1","kind":"vm_hour","quantity":1e999}')],
  ['invalid_applies_to', 'applies_to unknown', msg(v1({ applies_to: 'gpu' }))],
  ['invalid_applies_to', 'applies_to a kind name', msg(v1({ applies_to: 'vm_hour' }))],
  ['invalid_occurred_at', 'occurred_at missing', msg(v1({ occurred_at: undefined }))],
  ['invalid_occurred_at', 'occurred_at without a zone', msg(v1({ occurred_at: '2025-03-01T00:00:00' }))],
  ['invalid_occurred_at', 'occurred_at as epoch ms', msg(v1({ occurred_at: NOW }))],
  ['invalid_occurred_at', 'occurred_at an impossible date', msg(v1({ occurred_at: '2025-02-29T00:00:00Z' }))],
  ['occurred_in_future', '5 min + 1 ms ahead', msg(v1({ occurred_at: iso(NOW + 300_001) }))],
  ['too_late', '35 days + 1 ms old', msg(v1({ occurred_at: iso(NOW - 35 * DAY - 1) }))],
  ['invalid_cost', 'cost_micros negative', msg(v1({ cost_micros: -1 }))],
  ['invalid_cost', 'cost_micros fractional', msg(v1({ cost_micros: 1.5 }))],
  ['invalid_cost', 'cost_micros beyond 2^53 as a number', msg(v1({ cost_micros: 2 ** 53 }))],
  ['invalid_cost', 'cost_micros beyond Int64 as a string', msg(v1({ cost_micros: '9223372036854775808' }))],
  ['invalid_cost', 'cost_micros a boolean', msg(v1({ cost_micros: true }))],
  ['invalid_meta', 'meta an array', msg(v1({ meta: [1] }))],
  ['invalid_meta', 'meta a string', msg(v1({ meta: 'x' }))],
  ['invalid_meta', 'meta over 2048 bytes', msg(v1({ meta: { pad: 'x'.repeat(2040) } }))],
  ['invalid_meta', 'meta over 2048 bytes in multi-byte text', msg(v1({ meta: { p: 'é'.repeat(1021) } }))],
  ['unpriced', 'kind other without cost_micros', msg(v1({ kind: 'other' }))],
];

describe('validateRecord: each rule of SPEC 3', () => {
  it.each(cases)('%s: %s', (code, _why, input) => {
    const result = validateRecord(input, CTX);
    expect(result.ok ? 'ok' : result.code).toBe(code);
    if (!result.ok) expect(result.message.length).toBeGreaterThan(0);
  });

  it('covers every dead-letter code', () => {
    expect(new Set(cases.map(([code]) => code))).toEqual(new Set(DEAD_LETTER_CODES));
  });

  it('dead-letters a kind the configured book leaves out as unpriced', () => {
    const ctx = { ...CTX, priceBook: parsePriceBook({ llm_token: { price_micros: 1, per: 1 } }) };
    expect(codeOf(msg(v1({ kind: 'vm_hour' })), ctx)).toBe('unpriced');
    expect(codeOf(msg(v1({ kind: 'vm_hour', cost_micros: 0 })), ctx)).toBe('ok');
  });
});

describe('validateRecord: limits are inclusive', () => {
  function padTo(bytes: number): string {
    const base = JSON.stringify(v1({ pad: '' }));
    return JSON.stringify(v1({ pad: 'x'.repeat(bytes - base.length) }));
  }

  it('accepts exactly 8192 bytes and refuses 8193', () => {
    expect(padTo(8192).length).toBe(8192);
    expect(codeOf(msg(padTo(8192)))).toBe('ok');
    expect(codeOf(msg(padTo(8193)))).toBe('too_large');
  });

  it('accepts meta of exactly 2048 serialized bytes and refuses 2049', () => {
    const meta = (n: number) => ({ p: 'x'.repeat(n - '{"p":""}'.length) });
    expect(JSON.stringify(meta(2048)).length).toBe(2048);
    expect(codeOf(msg(v1({ meta: meta(2048) })))).toBe('ok');
    expect(codeOf(msg(v1({ meta: meta(2049) })))).toBe('invalid_meta');
  });

  it('accepts occurred_at exactly 5 minutes ahead and exactly at the horizon', () => {
    expect(codeOf(msg(v1({ occurred_at: iso(NOW + 300_000) })))).toBe('ok');
    expect(codeOf(msg(v1({ occurred_at: iso(NOW - 35 * DAY) })))).toBe('ok');
  });

  it('accepts ids of 128 and accounts of 64 characters', () => {
    const account = 'A'.repeat(64);
    expect(codeOf(msg(v1({ id: `a.b:c_d-${'e'.repeat(120)}`, account_id: account }), `usage.${account}`))).toBe('ok');
  });

  it('measures the horizon with the configured late-arrival days', () => {
    const old = msg(v1({ occurred_at: iso(NOW - 40 * DAY) }));
    expect(codeOf(old)).toBe('too_late');
    expect(codeOf(old, { ...CTX, lateArrivalDays: 40 })).toBe('ok');
  });
});

describe('validateRecord: precedence when several rules break', () => {
  it.each<[DeadLetterCode, Record<string, unknown>, string?]>([
    ['invalid_id', { id: '', account_id: '', kind: 'x', quantity: -1 }],
    ['invalid_account', { account_id: '!', kind: 'x' }],
    ['subject_mismatch', { kind: 'x', quantity: -1 }, 'usage.other'],
    ['invalid_kind', { kind: 'x', quantity: -1, applies_to: 'x' }],
    ['invalid_quantity', { quantity: -1, applies_to: 'x', occurred_at: 'x' }],
    ['invalid_applies_to', { applies_to: 'x', occurred_at: 'x' }],
    ['invalid_occurred_at', { occurred_at: 'x', cost_micros: -1 }],
    ['occurred_in_future', { occurred_at: iso(NOW + DAY), cost_micros: -1 }],
    ['too_late', { occurred_at: iso(NOW - 99 * DAY), cost_micros: -1 }],
    ['invalid_cost', { cost_micros: -1, meta: 1 }],
    ['invalid_meta', { meta: 1, kind: 'other' }],
  ])('%s wins', (code, overrides, subject) => {
    expect(codeOf(msg(v1(overrides), subject))).toBe(code);
  });

  it('checks size before JSON, so an oversized non-JSON payload is too_large', () => {
    expect(codeOf(msg('x'.repeat(9000)))).toBe('too_large');
  });
});

describe('validateRecord: CloudEvents 1.0 structured JSON', () => {
  const ce = (overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    type: 'com.example.usage',
    source: '/meter',
    id: 'ce-1',
    subject: 'acct-1',
    time: iso(NOW - DAY),
    datacontenttype: 'application/json',
    data: { kind: 'vm_hour', quantity: 2, ...data },
    ...overrides,
  });

  it('takes id, account and time from the envelope when data leaves them out', () => {
    const result = validateRecord(msg(ce()), CTX);
    expect(result.ok && result.record).toMatchObject({ id: 'ce-1', accountId: 'acct-1', kind: 'vm_hour', quantity: 2_000_000n, occurredAt: NOW - DAY });
  });

  it('prefers the fields in data', () => {
    const data = { id: 'rec-9', account_id: 'acct-1', occurred_at: iso(NOW - 2 * DAY) };
    const result = validateRecord(msg(ce({}, data)), CTX);
    expect(result.ok && result.record).toMatchObject({ id: 'rec-9', occurredAt: NOW - 2 * DAY });
  });

  it('accepts a +json content type or none', () => {
    expect(codeOf(msg(ce({ datacontenttype: 'application/cloudevents+json; charset=utf-8' })))).toBe('ok');
    expect(codeOf(msg(ce({ datacontenttype: undefined })))).toBe('ok');
  });

  it('refuses an envelope subject that differs from data.account_id', () => {
    expect(codeOf(msg(ce({}, { account_id: 'acct-2' }), 'usage.acct-2'))).toBe('subject_mismatch');
  });

  it('refuses an envelope subject that differs from the NATS subject', () => {
    expect(codeOf(msg(ce({ subject: 'acct-2' })))).toBe('subject_mismatch');
  });

  it('applies every v1 rule to data', () => {
    expect(codeOf(msg(ce({}, { quantity: -1 })))).toBe('invalid_quantity');
    expect(codeOf(msg(ce({ time: undefined })))).toBe('invalid_occurred_at');
    expect(codeOf(msg(ce({ id: undefined })))).toBe('invalid_id');
  });
});

/**
 * Issue 16 item 6: a record nested thousands of levels deep made validation throw
 * (JSON.stringify of meta overflows the stack near 5,000 levels), so the bridge neither
 * acked nor dead-lettered it. Validation is total: every payload gets a code.
 */
describe('validateRecord: deeply nested payloads never throw', () => {
  const deep = (levels: number, leaf = '1'): string => '['.repeat(levels) + leaf + ']'.repeat(levels);
  const record = (extra: string) => `{"id":"rec-1","account_id":"acct-1","kind":"llm_token","quantity":1000,"occurred_at":"${iso(NOW - DAY)}",${extra}}`;
  const cloudEvent = (dataExtra: string) =>
    `{"specversion":"1.0","type":"usage","source":"/m","id":"ce-1","subject":"acct-1","time":"${iso(NOW - DAY)}","data":{"kind":"vm_hour","quantity":2,${dataExtra}}}`;

  it.each([10_000, 100_000])('%i levels: in meta, in another field, in a CloudEvent data, as the whole payload', (levels) => {
    for (const payload of [
      record(`"meta":{"a":${deep(levels)}}`),
      record(`"extra":${deep(levels)}`),
      cloudEvent(`"meta":{"a":${deep(levels)}}`),
      deep(levels),
    ]) {
      // Over 8 KiB: refused by size before anything parses it, as bytes or as text.
      expect(codeOf(msg(payload))).toBe('too_large');
      expect(codeOf({ subject: 'usage.acct-1', payload: new TextEncoder().encode(payload) })).toBe('too_large');
    }
  });

  it('as deep as 8 KiB allows (~4,000 levels): invalid_meta in meta, ignored elsewhere', () => {
    const levels = 4000;
    expect(codeOf(msg(record(`"meta":{"a":${deep(levels)}}`)))).toBe('invalid_meta');
    expect(codeOf(msg(cloudEvent(`"meta":{"a":${deep(levels)}}`)))).toBe('invalid_meta');
    expect(codeOf(msg(record(`"extra":${deep(levels)}`)))).toBe('ok');
    expect(codeOf(msg(cloudEvent(`"extra":${deep(levels)}`)))).toBe('ok');
    expect(codeOf(msg(record(`"quantity":${deep(levels)}`).replace('"quantity":1000,', '')))).toBe('invalid_quantity');
    expect(codeOf(msg(deep(levels)))).toBe('malformed_json');
  });

  it('still answers with a nearly exhausted stack', () => {
    const payload = msg(record(`"meta":{"a":${deep(4000)}}`));
    let deepest: DeadLetterCode | 'ok' | 'threw' = 'threw';
    const descend = (n: number): void => {
      try {
        descend(n + 1);
      } catch {
        // The frames just above the overflow: validation runs with almost no stack left.
        if (deepest === 'threw') deepest = codeOf(payload);
      }
    };
    descend(0);
    expect(['invalid_meta', 'malformed_json']).toContain(deepest);
  });

  it('an unexpected failure inside validation becomes a dead letter with a code, not a throw', () => {
    const priceBook = new Proxy(CTX.priceBook, {
      get: () => {
        throw new Error('boom');
      },
    });
    const result = validateRecord(msg(v1()), { ...CTX, priceBook });
    expect(result).toMatchObject({ ok: false, code: 'malformed_json' });
  });
});

describe('jsonBytesWithin', () => {
  it('equals the UTF-8 length of JSON.stringify on ordinary values', () => {
    for (const value of [{}, [], { a: 1, é: ['x', null, true, 1.5e21, -0.25] }, { nested: { deeper: [[], {}, 'ü\u2028"\\'] } }, 'x', 0]) {
      expect(jsonBytesWithin(value, 1 << 20)).toBe(Buffer.byteLength(JSON.stringify(value), 'utf8'));
    }
  });

  it('measures 100,000 levels that JSON.stringify cannot, stopping once past the limit', () => {
    let value: unknown = 1;
    for (let i = 0; i < 100_000; i++) value = { a: [value] };
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    const bytes = jsonBytesWithin(value, MAX_META_BYTES);
    expect(bytes).toBeGreaterThan(MAX_META_BYTES);
    expect(bytes).toBeLessThan(MAX_META_BYTES + 16);
  });
});
