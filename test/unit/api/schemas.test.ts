import { describe, expect, it } from 'vitest';
import { TallyError } from '../../../shared/domain/index.js';
import { INVALID_JSON, buyPlanBody, ledgerQuery, parseInput, paymentBody, tickBody } from '../../../services/api/schemas.js';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('invalid_request');
    return (err as TallyError).message;
  }
  throw new Error('expected invalid_request');
};

describe('API request schemas', () => {
  const payment = { payment_id: 'pi_1:a.b-c', account_id: 'acct-1', amount_micros: 5_000_000, paid_at: '2026-01-01T00:00:00+02:00' };

  it('reads a payment: micros as bigint, paid_at as epoch ms in UTC', () => {
    expect(parseInput(paymentBody, payment, 'body')).toEqual({ ...payment, amount_micros: 5_000_000n, paid_at: Date.parse('2025-12-31T22:00:00Z') });
  });

  it('takes amounts above 2^53 only as decimal strings, and never beyond Int64', () => {
    expect(parseInput(paymentBody, { ...payment, amount_micros: '9223372036854775807' }, 'body').amount_micros).toBe(2n ** 63n - 1n);
    expect(refusal(() => parseInput(paymentBody, { ...payment, amount_micros: '9223372036854775808' }, 'body'))).toMatch(/^body\.amount_micros: /);
    expect(refusal(() => parseInput(paymentBody, { ...payment, amount_micros: 2 ** 53 }, 'body'))).toMatch(/amount_micros/);
    expect(refusal(() => parseInput(paymentBody, { ...payment, amount_micros: 0.5 }, 'body'))).toMatch(/amount_micros/);
    expect(refusal(() => parseInput(paymentBody, { ...payment, amount_micros: -1 }, 'body'))).toMatch(/amount_micros/);
  });

  it('names the field that breaks a rule, unknown fields included', () => {
    expect(refusal(() => parseInput(paymentBody, { ...payment, paid_at: '2026-01-01' }, 'body'))).toMatch(/^body\.paid_at: /);
    expect(refusal(() => parseInput(paymentBody, { ...payment, account_id: 'a/b' }, 'body'))).toMatch(/^body\.account_id: /);
    expect(refusal(() => parseInput(paymentBody, { ...payment, note: 'x' }, 'body'))).toMatch(/note/);
    // JSON.parse makes "__proto__" an own key: refused like any unknown field, never merged into a prototype.
    expect(refusal(() => parseInput(buyPlanBody, JSON.parse('{"plan_id": "basic", "__proto__": {"x": 1}}'), 'body'))).toMatch(/__proto__/);
  });

  it('reports a body that is not JSON as invalid_request', () => {
    expect(refusal(() => parseInput(buyPlanBody, INVALID_JSON, 'body'))).toBe('body: not valid JSON');
  });

  it('bounds the ledger page size and lets the tick body be absent', () => {
    expect(parseInput(ledgerQuery, { limit: '500' }, 'query')).toEqual({ limit: 500 });
    expect(refusal(() => parseInput(ledgerQuery, { limit: '501' }, 'query'))).toMatch(/limit/);
    expect(refusal(() => parseInput(ledgerQuery, { limit: ['1', '2'] }, 'query'))).toMatch(/limit/);
    expect(parseInput(tickBody, undefined, 'body')).toBeUndefined();
    expect(parseInput(tickBody, { now: '2026-01-08T00:00:00Z' }, 'body')).toEqual({ now: Date.parse('2026-01-08T00:00:00Z') });
  });
});
