/** Instants are epoch milliseconds; the domain never reads the clock, callers pass `now`. */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

// RFC 3339 date-time (section 5.6): a `T` separator and a zone are required, leap seconds
// (:60) are not accepted because an epoch-millisecond instant cannot hold them.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The decimal value of text[start, end), which the caller has checked to be digits. */
function digitsAt(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + text.charCodeAt(i) - 48;
  return value;
}

/**
 * Epoch milliseconds of a strict RFC 3339 timestamp, or null; digits beyond the
 * millisecond are dropped. Computed from the fields rather than by Date.parse, which
 * rolls `2023-02-29` over to March 1 instead of rejecting it; the regex has fixed the
 * position of every field, so they are read in place (this runs once per record).
 */
export function parseRfc3339(text: string): number | null {
  if (!RFC3339.test(text)) return null;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 7);
  const day = digitsAt(text, 8, 10);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  const seconds = (digitsAt(text, 11, 13) * 60 + digitsAt(text, 14, 16)) * 60 + digitsAt(text, 17, 19);
  const zoned = text.length > 19 && text.charCodeAt(text.length - 3) === 58; // ':' of a ±HH:MM offset
  const fracEnd = zoned ? text.length - 6 : text.length - 1;
  // Fraction digits after the third are dropped; fewer than three are scaled up.
  const fracDigits = Math.min(Math.max(fracEnd - 20, 0), 3);
  const millis = fracDigits === 0 ? 0 : digitsAt(text, 20, 20 + fracDigits) * 10 ** (3 - fracDigits);
  const sign = text.charCodeAt(fracEnd) === 45 ? -1 : 1; // '-'
  const offset = zoned ? sign * (digitsAt(text, fracEnd + 1, fracEnd + 3) * 60 + digitsAt(text, fracEnd + 4, fracEnd + 6)) : 0;
  return daysFromCivil(year, month, day) * DAY_MS + seconds * 1000 + millis - offset * MINUTE_MS;
}
