/**
 * Exact money and quantity arithmetic. Every amount is an integer number of micros
 * (1 USD = 1,000,000) held as a bigint; quantities are scaled by 1e6 the same way, so
 * no float ever touches a value that ends up on a bill.
 */

/** An amount of money in micros (1 USD = 1,000,000 micros). */
export type Micros = bigint;

/** An exact non-negative rational, always stored in lowest terms with den > 0. */
export interface Ratio {
  num: bigint;
  den: bigint;
}

/** Quantities and costs are scaled by this factor (six decimal places). */
export const SCALE = 1_000_000n;

/** Largest value a MongoDB Int64 field can hold; money and scaled quantities stay below it. */
export const INT64_MAX = 2n ** 63n - 1n;
/** Smallest value a MongoDB Int64 field can hold (a balance may go negative, SPEC 6). */
export const INT64_MIN = -(2n ** 63n);

/** a + b when the sum fits Int64, else null: nothing stored ever wraps (SPEC 2 `amount_out_of_range`). */
export function addInt64(a: bigint, b: bigint): bigint | null {
  const sum = a + b;
  return sum >= INT64_MIN && sum <= INT64_MAX ? sum : null;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const QUANTITY_PLACES = 6;

/**
 * num/den rounded to the nearest integer, ties to the even neighbour (banker's rounding),
 * so that rounding errors over many records do not drift in one direction.
 */
export function roundHalfEven(num: bigint, den: bigint): bigint {
  if (den <= 0n) throw new RangeError('roundHalfEven: den must be > 0');
  let q = num / den;
  let r = num % den;
  // BigInt division truncates toward zero; move to floor so the remainder is in [0, den).
  if (r < 0n) {
    q -= 1n;
    r += den;
  }
  const twice = 2n * r;
  if (twice < den) return q;
  if (twice > den) return q + 1n;
  return q % 2n === 0n ? q : q + 1n;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;

/**
 * A non-negative decimal text (optionally in exponent form, as `String(number)` writes
 * it) scaled by 10^places, or null when it has more than `places` decimal places.
 */
function scaleDecimal(text: string, places: number): bigint | null {
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const whole = m[1] ?? '';
  const frac = m[2] ?? '';
  const exp = m[3] === undefined ? 0 : Number(m[3]);
  // Guards BigInt exponentiation against absurd exponents such as "1e999999999".
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) return null;
  const digits = BigInt(whole + frac);
  const shift = exp - frac.length + places;
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  return digits % divisor === 0n ? digits / divisor : null;
}

const binary = new DataView(new ArrayBuffer(8));

/**
 * round(x * 1e6) for 1e-6 <= x < 1e9, computed exactly from the double's binary value
 * x = mantissa / 2^shift with integer arithmetic: no float operation is involved.
 */
function nearestMicros(x: number): bigint {
  binary.setFloat64(0, x);
  const high = binary.getUint32(0);
  const shift = BigInt(1075 - (high >>> 20));
  const mantissa = (BigInt((high & 0xfffff) | 0x100000) << 32n) | BigInt(binary.getUint32(4));
  return (mantissa * SCALE + (1n << (shift - 1n))) >> shift;
}

/**
 * A usage quantity as an exact integer scaled by 1e6, or null when it is not a finite
 * number >= 0 with at most six decimal places, or does not fit an Int64 once scaled.
 *
 * A JSON number reaches us as a double; the quantity is the decimal of its shortest
 * round-trip text (`String(x)`), which is the decimal the producer wrote whenever that
 * had at most 15 significant digits, and is in any case a function of the bytes alone,
 * so a replay always prices the same.
 */
export function parseQuantity(x: unknown): bigint | null {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) return null;
  if (Number.isSafeInteger(x)) {
    const scaled = BigInt(x) * SCALE;
    return scaled <= INT64_MAX ? scaled : null;
  }
  if (x >= 1e-6 && x < 1e9) {
    // The common case, without String(x), which costs more than the rest of validation.
    // Decimals of <= 15 significant digits map one-to-one onto doubles, and any six-place
    // decimal that reads back as x lies within 0.06 micro of it here, so x has a six-place
    // text exactly when its nearest micro, read back the way JSON.parse reads, gives x.
    // Reading back is one division: micros < 1e15 < 2^53 is exact as a double, and IEEE
    // division rounds micros / 10^6 correctly, exactly as parsing "<micros>e-6" does.
    // Only x is compared; the quantity returned is the integer.
    const micros = nearestMicros(x);
    return Number(micros) / 1e6 === x ? micros : null;
  }
  const scaled = scaleDecimal(String(x), QUANTITY_PLACES);
  return scaled !== null && scaled <= INT64_MAX ? scaled : null;
}

const MICROS_TEXT = /^(?:0|[1-9]\d{0,18})$/;

/**
 * A non-negative integer amount of micros from JSON: a safe integer number, or a decimal
 * string for amounts beyond 2^53 (SPEC 2), bounded by Int64. Null otherwise.
 */
export function parseMicros(x: unknown): bigint | null {
  if (typeof x === 'number') return Number.isSafeInteger(x) && x >= 0 ? BigInt(x) : null;
  if (typeof x === 'string' && MICROS_TEXT.test(x)) {
    const value = BigInt(x);
    return value <= INT64_MAX ? value : null;
  }
  return null;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Builds a ratio in lowest terms; den must be > 0 and num >= 0. */
export function ratio(num: bigint, den: bigint): Ratio {
  const g = gcd(num, den);
  return g === 0n ? { num: 0n, den: 1n } : { num: num / g, den: den / g };
}

const FRACTION = /^(\d{1,18})\/(\d{1,18})$/;
const PLAIN_DECIMAL = /^\d{1,18}(?:\.\d{1,18})?$/;

/** An exact ratio from `"num/den"` or a plain decimal such as `"0.5"`; null if malformed. */
export function parseRatio(text: string): Ratio | null {
  const f = FRACTION.exec(text);
  if (f) {
    const den = BigInt(f[2] ?? '0');
    return den === 0n ? null : ratio(BigInt(f[1] ?? '0'), den);
  }
  if (!PLAIN_DECIMAL.test(text)) return null;
  const places = (text.split('.')[1] ?? '').length;
  const num = scaleDecimal(text, places);
  return num === null ? null : ratio(num, 10n ** BigInt(places));
}

/**
 * Micros as dollars for people: two decimals unless sub-cent digits exist, then as many
 * as needed (at most six), thousands grouped: `$1,234.50`, `$0.00015`, `-$3.00`.
 */
export function formatUsd(micros: bigint): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  const whole = (abs / SCALE).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = (abs % SCALE)
    .toString()
    .padStart(6, '0')
    .replace(/0{1,4}$/, '');
  return `${sign}$${whole}.${frac}`;
}

/**
 * An exact running total of micros, fed with amounts as JSON carries them (a safe integer,
 * or a decimal string beyond 2^53) or as bigints. It adds in safe integers while the
 * partial sum stays below 2^53, and carries into a bigint before it would not: the total
 * is exact, and summing a million small charges costs no bigint per charge.
 */
export class MicrosTotal {
  private small = 0;
  private big = 0n;

  add(micros: number | string | bigint): void {
    if (typeof micros !== 'number' || !Number.isSafeInteger(micros)) {
      this.big += typeof micros === 'bigint' ? micros : BigInt(micros);
      return;
    }
    if (Math.abs(micros) > Number.MAX_SAFE_INTEGER - Math.abs(this.small)) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
    this.small += micros;
  }

  get value(): bigint {
    return this.big + BigInt(this.small);
  }
}

/** Micros for JSON output: a number while exact (|m| <= 2^53 - 1), else a decimal string. */
export function toJsonMicros(m: bigint): number | string {
  return m <= MAX_SAFE && m >= -MAX_SAFE ? Number(m) : m.toString();
}
