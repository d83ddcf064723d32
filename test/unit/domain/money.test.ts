import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatUsd, INT64_MAX, MicrosTotal, parseMicros, parseQuantity, parseRatio, roundHalfEven, toJsonMicros } from '../../../shared/domain/index.js';

describe('roundHalfEven', () => {
  it.each([
    [5n, 2n, 2n], // 2.5 -> 2
    [7n, 2n, 4n], // 3.5 -> 4
    [3n, 2n, 2n], // 1.5 -> 2
    [1n, 2n, 0n], // 0.5 -> 0
    [-5n, 2n, -2n], // -2.5 -> -2
    [-7n, 2n, -4n], // -3.5 -> -4
    [-1n, 2n, 0n], // -0.5 -> 0
    [10n, 4n, 2n], // 2.5 -> 2
    [7n, 4n, 2n], // 1.75 -> 2
    [5n, 4n, 1n], // 1.25 -> 1
    [-7n, 4n, -2n], // -1.75 -> -2
    [-5n, 4n, -1n], // -1.25 -> -1
    [0n, 7n, 0n],
    [21n, 7n, 3n],
    [1n, 3n, 0n],
    [2n, 3n, 1n],
  ])('%i / %i rounds to %i', (num, den, want) => {
    expect(roundHalfEven(num, den)).toBe(want);
  });

  it('rejects a non-positive denominator', () => {
    expect(() => roundHalfEven(1n, 0n)).toThrow(RangeError);
    expect(() => roundHalfEven(1n, -2n)).toThrow(RangeError);
  });

  it('is within half a unit of the exact value, and ties land on even', () => {
    fc.assert(
      fc.property(fc.bigInt(-(10n ** 20n), 10n ** 20n), fc.bigInt(1n, 10n ** 12n), (num, den) => {
        const q = roundHalfEven(num, den);
        const twiceError = 2n * (num - q * den); // 2 * (exact - q) * den
        expect(twiceError <= den && twiceError >= -den).toBe(true);
        if (twiceError === den || twiceError === -den) expect(q % 2n).toBe(0n);
      }),
    );
  });

  it('is symmetric: round(-x) = -round(x)', () => {
    fc.assert(
      fc.property(fc.bigInt(-(10n ** 15n), 10n ** 15n), fc.bigInt(1n, 10n ** 6n), (num, den) => {
        expect(roundHalfEven(-num, den)).toBe(-roundHalfEven(num, den));
      }),
    );
  });
});

describe('parseQuantity', () => {
  it.each([
    [0, 0n],
    [1, 1_000_000n],
    [0.1, 100_000n],
    [0.3, 300_000n],
    [0.1 * 3, null], // 0.30000000000000004 has 17 decimals: a float product never sneaks in
    [1.000001, 1_000_001n],
    [0.000001, 1n],
    [1e-6, 1n],
    [1.5e-6, null],
    [1e-7, null],
    [1.0000001, null],
    [123456.654321, 123_456_654_321n],
    [1e12, 1_000_000_000_000_000_000n],
    [9_223_372_036_854, 9_223_372_036_854_000_000n],
    [9_223_372_036_855, null], // scaled, it no longer fits Int64
    [1e21, null],
    [-1, null],
    [-0.5, null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
    ['1', null],
    [null, null],
    [true, null],
  ])('%s -> %s', (x, want) => {
    expect(parseQuantity(x)).toBe(want);
  });

  it('treats -0 as 0', () => {
    expect(parseQuantity(-0)).toBe(0n);
  });

  it('recovers exactly the decimal the producer wrote (up to 15 significant digits)', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 10n ** 15n - 1n), fc.integer({ min: 0, max: 6 }), (digits, places) => {
        const text =
          places === 0 ? digits.toString() : `${digits / 10n ** BigInt(places)}.${(digits % 10n ** BigInt(places)).toString().padStart(places, '0')}`;
        const scaled = digits * 10n ** BigInt(6 - places);
        expect(parseQuantity(JSON.parse(text))).toBe(scaled <= INT64_MAX ? scaled : null);
      }),
    );
  });

  /** The definition: the shortest round-trip text of x, read as an exact decimal. */
  function byText(x: number): bigint | null {
    const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
    if (!m) return null;
    const frac = m[2] ?? '';
    const shift = Number(m[3] ?? 0) - frac.length + 6;
    const digits = BigInt((m[1] ?? '') + frac);
    const scaled = shift >= 0 ? digits * 10n ** BigInt(shift) : digits % 10n ** BigInt(-shift) === 0n ? digits / 10n ** BigInt(-shift) : null;
    return scaled !== null && scaled <= INT64_MAX ? scaled : null;
  }

  it('equals the shortest round-trip text of x read as a decimal, for any double', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e20, noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(parseQuantity(x)).toBe(byText(x));
      }),
      { numRuns: 20_000 },
    );
  });

  it('equals the text reading for doubles near six-place decimals, and at the fast path edges', () => {
    const near = fc.tuple(fc.bigInt(1n, 10n ** 16n), fc.integer({ min: 5, max: 8 }), fc.integer({ min: -2, max: 2 })).map(([digits, places, ulps]) => {
      const x = Number(`${digits}e-${places}`);
      return ulps === 0 ? x : x + ulps * Number.EPSILON * x;
    });
    fc.assert(
      fc.property(near, (x) => {
        expect(parseQuantity(x)).toBe(byText(x));
      }),
      { numRuns: 20_000 },
    );
    for (const x of [1e-6, 9.99999e-7, 999_999_999.999999, 1e9 + 0.5, 1e9 - 0.5, 0.5, 4503599627370495.5]) {
      expect(parseQuantity(x)).toBe(byText(x));
    }
  });

  it('rejects every value with a 7th decimal place', () => {
    fc.assert(
      fc.property(fc.bigInt(0n, 10n ** 14n), fc.integer({ min: 1, max: 9 }), (whole, seventh) => {
        const text = `${whole / 10n ** 6n}.${(whole % 10n ** 6n).toString().padStart(6, '0')}${seventh}`;
        expect(parseQuantity(JSON.parse(text))).toBeNull();
      }),
    );
  });
});

describe('parseMicros', () => {
  it.each([
    [0, 0n],
    [1_500_000, 1_500_000n],
    [Number.MAX_SAFE_INTEGER, 9_007_199_254_740_991n],
    [2 ** 53, null], // a number that can no longer be exact
    ['9223372036854775807', INT64_MAX],
    ['9223372036854775808', null],
    ['0', 0n],
    ['007', null],
    ['-1', null],
    [-1, null],
    [1.5, null],
    ['1.5', null],
    [null, null],
  ])('%s -> %s', (x, want) => {
    expect(parseMicros(x)).toBe(want);
  });
});

describe('parseRatio', () => {
  it.each([
    ['1/2', 1n, 2n],
    ['2/4', 1n, 2n],
    ['0.5', 1n, 2n],
    ['0.25', 1n, 4n],
    ['1', 1n, 1n],
    ['1.0', 1n, 1n],
    ['0.333333', 333_333n, 1_000_000n],
    ['0/5', 0n, 1n],
    ['3/2', 3n, 2n],
  ])('%s is %i/%i', (text, num, den) => {
    expect(parseRatio(text)).toEqual({ num, den });
  });

  it.each(['1/0', '', '.5', '0.5.5', '-1/2', '1/-2', '1e-1', ' 1/2', 'half', '1/2/3'])('rejects %j', (text) => {
    expect(parseRatio(text)).toBeNull();
  });
});

describe('formatUsd', () => {
  it.each([
    [0n, '$0.00'],
    [12_500_000n, '$12.50'],
    [1_234_567_890_000n, '$1,234,567.89'],
    [150n, '$0.00015'],
    [1_234_567_891n, '$1,234.567891'],
    [10_000n, '$0.01'],
    [1_000n, '$0.001'],
    [-3_000_000n, '-$3.00'],
    [-1n, '-$0.000001'],
  ])('%i micros is %s', (micros, text) => {
    expect(formatUsd(micros)).toBe(text);
  });
});

describe('toJsonMicros', () => {
  it('is a number while exact and a decimal string beyond 2^53 - 1', () => {
    expect(toJsonMicros(9_007_199_254_740_991n)).toBe(9_007_199_254_740_991);
    expect(toJsonMicros(-9_007_199_254_740_991n)).toBe(-9_007_199_254_740_991);
    expect(toJsonMicros(9_007_199_254_740_992n)).toBe('9007199254740992');
    expect(toJsonMicros(-9_007_199_254_740_992n)).toBe('-9007199254740992');
  });
});

describe('MicrosTotal', () => {
  const MAX = Number.MAX_SAFE_INTEGER;
  const amount = fc.oneof(
    fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
    fc.integer({ min: -1000, max: 1000 }).map(BigInt),
    fc.constantFrom(BigInt(MAX), BigInt(-MAX), BigInt(MAX) - 1n, BigInt(MAX) + 1n, 0n),
  );

  it('is exactly the bigint sum, whichever form each amount comes in (number, decimal string, bigint)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(amount, fc.nat(2)), { maxLength: 40 }), (items) => {
        const total = new MicrosTotal();
        for (const [m, form] of items) {
          // JSON's form where it is exact: a number up to 2^53 - 1, a string beyond.
          const json = m <= BigInt(MAX) && m >= BigInt(-MAX) ? Number(m) : m.toString();
          total.add(form === 0 ? json : form === 1 ? m : m.toString());
        }
        expect(total.value).toBe(items.reduce((sum, [m]) => sum + m, 0n));
      }),
      { numRuns: 2000 },
    );
  });

  it('carries into a bigint before a safe-integer sum would round', () => {
    const total = new MicrosTotal();
    total.add(MAX);
    total.add(1);
    total.add(1);
    expect(total.value).toBe(BigInt(MAX) + 2n);
  });

  it('refuses a number that is not a whole number of micros', () => {
    expect(() => new MicrosTotal().add(1.5)).toThrow(RangeError);
  });
});
