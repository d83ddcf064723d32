import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_CODES, ERROR_CODES, isDeadLetterCode, TallyError } from '../../../shared/domain/index.js';

describe('the error registry', () => {
  it('lists the 14 dead-letter codes of SPEC 3, in its order', () => {
    expect(DEAD_LETTER_CODES).toEqual([
      'malformed_json',
      'too_large',
      'invalid_id',
      'invalid_account',
      'subject_mismatch',
      'invalid_kind',
      'invalid_quantity',
      'invalid_applies_to',
      'invalid_occurred_at',
      'occurred_in_future',
      'too_late',
      'invalid_cost',
      'invalid_meta',
      'unpriced',
    ]);
  });

  it.each([
    ['unknown_plan', 400],
    ['invalid_request', 400],
    ['unauthorized', 401],
    ['insufficient_balance', 402],
    ['forbidden', 403],
    ['forbidden_origin', 403],
    ['selection_required', 400],
    ['kyc_required', 403],
    ['account_not_found', 404],
    ['not_found', 404],
    ['plan_active', 409],
    ['no_active_plan', 409],
    ['quota_exhausted', 409],
    ['rate_limited', 429],
    ['too_large', 413],
    ['unpriced', 422],
  ])('%s is HTTP %i', (code, status) => {
    expect(Object.hasOwn(ERROR_CODES, code)).toBe(true);
    expect(ERROR_CODES[code as keyof typeof ERROR_CODES].status).toBe(status);
  });

  it('gives every code a one-line meaning', () => {
    for (const { meaning } of Object.values(ERROR_CODES)) expect(meaning).toMatch(/^[^\n]{10,}$/);
  });

  it('tells dead-letter codes from the others', () => {
    expect(isDeadLetterCode('too_late')).toBe(true);
    expect(isDeadLetterCode('plan_active')).toBe(false);
  });
});

describe('TallyError', () => {
  it('carries the code, the registry status and the SPEC 13 body', () => {
    const err = new TallyError('quota_exhausted', 'all 5 VMs are in use');
    expect(err).toBeInstanceOf(Error);
    expect(err.status).toBe(409);
    expect(err.toBody()).toEqual({ error: { code: 'quota_exhausted', message: 'all 5 VMs are in use' } });
  });

  it('defaults the message to the meaning', () => {
    expect(new TallyError('forbidden').message).toBe(ERROR_CODES.forbidden.meaning);
  });
});
