import { describe, expect, it } from 'vitest';
import { TallyError } from '../../../shared/domain/index.js';
import { parseDeadLetterFilter, requireSelection } from '../../../shared/app/redrive/filter.js';

describe('parseDeadLetterFilter', () => {
  it('takes codes repeated or comma-separated, RFC 3339 instants and an account', () => {
    expect(
      parseDeadLetterFilter({ codes: ['unpriced,too_late', 'unpriced'], since: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00+01:00', account: 'acct-1' }),
    ).toEqual({
      codes: ['unpriced', 'too_late'],
      since: Date.parse('2026-01-01T00:00:00Z'),
      until: Date.parse('2026-01-01T23:00:00Z'),
      account: 'acct-1',
    });
    expect(parseDeadLetterFilter({})).toEqual({});
  });

  it('refuses an unknown code, a time without a zone and a bad account id as invalid_request', () => {
    for (const input of [{ codes: ['no_such_code'] }, { since: '2026-01-01 00:00' }, { account: 'a/b' }]) {
      expect(() => parseDeadLetterFilter(input)).toThrow(TallyError);
      try {
        parseDeadLetterFilter(input);
      } catch (err) {
        expect((err as TallyError).code).toBe('invalid_request');
      }
    }
  });
});

describe('requireSelection (SPEC 14: an empty request is never "everything")', () => {
  const codeOf = (run: () => void): string | null => {
    try {
      run();
      return null;
    } catch (err) {
      return (err as TallyError).code;
    }
  };

  it('nothing, or only empty codes, is selection_required', () => {
    expect(codeOf(() => requireSelection({}, false))).toBe('selection_required');
    expect(codeOf(() => requireSelection({ codes: [] }, false))).toBe('selection_required');
    expect(codeOf(() => requireSelection({ codes: [' ', ''] }, false))).toBe('selection_required');
  });

  it('a filter, or all alone, is a selection; all with a filter is invalid_request', () => {
    for (const input of [{ codes: ['unpriced'] }, { since: '2026-01-01T00:00:00Z' }, { until: '2026-01-01T00:00:00Z' }, { account: 'acct-1' }]) {
      expect(codeOf(() => requireSelection(input, false))).toBeNull();
      expect(codeOf(() => requireSelection(input, true))).toBe('invalid_request');
    }
    expect(codeOf(() => requireSelection({}, true))).toBeNull();
  });
});
