/**
 * Batches of records posted over HTTP (SPEC 13 "HTTP ingest"), cut into the records' own
 * bytes. Nothing is parsed and written back: JSON.parse turns a number beyond 2^53 into a
 * float, and a record re-serialised from it would reach the bus with other digits than the
 * producer sent (a cost_micros of 9007199254740993 as 9007199254740992, a quantity with a
 * seventh decimal rounded into a valid one). Each record is a slice of the body, so the
 * bus carries the producer's exact bytes and the bridge judges exactly what the API judged.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === NEWLINE || b === RETURN;

/** `bytes` without JSON whitespace at either end (a view, not a copy). */
function trim(bytes: Uint8Array): Uint8Array {
  let start = 0;
  let end = bytes.length;
  while (start < end && isSpace(bytes[start])) start++;
  while (end > start && isSpace(bytes[end - 1])) end--;
  return bytes.subarray(start, end);
}

/**
 * The elements of a JSON array as slices of its bytes, or null when the body is not an
 * array whose brackets close (text after the closing bracket, an unterminated string).
 * Works on bytes, not text: every byte JSON's structure uses is ASCII, and no byte of a
 * multi-byte UTF-8 sequence is, so the cuts are right whatever the records hold (bytes that
 * are not UTF-8 included: validation answers those `malformed_json`, record by record).
 * An element that is not valid JSON (`{"a":}`) is still cut out, for validation to refuse.
 */
export function splitJsonArray(body: Uint8Array): Uint8Array[] | null {
  const text = trim(body);
  if (text[0] !== OPEN_ARRAY || text[text.length - 1] !== CLOSE_ARRAY) return null;
  const inner = text.subarray(1, text.length - 1);
  const out: Uint8Array[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const b = inner[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
    else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      if (--depth < 0) return null;
    } else if (b === COMMA && depth === 0) {
      out.push(trim(inner.subarray(start, i)));
      start = i + 1;
    }
  }
  if (inString || depth !== 0) return null;
  const last = trim(inner.subarray(start));
  // `[]` holds no element; `[1,]` holds an empty one, which validation refuses like any other.
  if (last.length > 0 || out.length > 0) out.push(last);
  return out;
}

/** The lines of an NDJSON body (`\n` or `\r\n`), blank lines left out: each line is one record. */
export function splitNdjson(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  while (start <= body.length) {
    const found = body.indexOf(NEWLINE, start);
    const end = found === -1 ? body.length : found;
    const line = trim(body.subarray(start, end));
    if (line.length > 0) out.push(line);
    start = end + 1;
  }
  return out;
}
