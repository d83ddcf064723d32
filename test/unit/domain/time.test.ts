import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../../../shared/domain/index.js';

describe('parseRfc3339', () => {
  it.each([
    ['2025-03-01T12:00:00Z', Date.UTC(2025, 2, 1, 12)],
    ['2025-03-01t12:00:00z', Date.UTC(2025, 2, 1, 12)],
    ['2025-03-01T12:00:00.5Z', Date.UTC(2025, 2, 1, 12, 0, 0, 500)],
    ['2025-03-01T12:00:00.123456789Z', Date.UTC(2025, 2, 1, 12, 0, 0, 123)],
    ['2025-03-01T12:00:00+01:30', Date.UTC(2025, 2, 1, 10, 30)],
    ['2025-03-01T12:00:00.25-05:00', Date.UTC(2025, 2, 1, 17, 0, 0, 250)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['1969-12-31T23:59:59.999Z', -1],
    ['0001-01-01T00:00:00Z', -62_135_596_800_000],
  ])('%s', (text, want) => {
    expect(parseRfc3339(text)).toBe(want);
  });

  it.each([
    '2025-03-01 12:00:00Z', // space separator
    '2025-03-01T12:00:00', // no zone
    '2025-03-01',
    '2025-3-1T12:00:00Z',
    '2023-02-29T00:00:00Z', // not a leap year (Date.parse would say March 1)
    '1900-02-29T00:00:00Z',
    '2025-04-31T00:00:00Z',
    '2025-13-01T00:00:00Z',
    '2025-00-01T00:00:00Z',
    '2025-01-00T00:00:00Z',
    '2025-01-01T24:00:00Z',
    '2025-01-01T23:60:00Z',
    '2025-01-01T23:59:60Z', // leap second: not representable in epoch ms
    '2025-01-01T00:00:00.Z',
    '2025-01-01T00:00:00+0100',
    '2025-01-01T00:00:00+24:00',
    '2025-01-01T00:00:00Z ',
    '1735689600000',
  ])('rejects %s', (text) => {
    expect(parseRfc3339(text)).toBeNull();
  });

  it('agrees with Date.parse on every instant and offset', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_000_000_000_000, max: 253_000_000_000_000 }), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (ms, offset) => {
        const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
        const abs = Math.abs(offset);
        const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(parseRfc3339(`${local}${zone}`)).toBe(ms);
        expect(parseRfc3339(`${local}${zone}`)).toBe(Date.parse(`${local}${zone}`));
      }),
    );
  });
});
