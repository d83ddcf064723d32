/**
 * The recorded stream format (SPEC 13): NDJSON, one message a line,
 * `{"subject", "payload", "headers"?}`, other fields ignored. `tally export` and
 * `tally generate` write it; `tally replay` and `tally quote` read it, through this one
 * parser, so they agree on which lines are messages.
 */
import { isObject } from './json.js';

export interface RecordedMessage {
  /** The NATS subject, never empty. */
  subject: string;
  /** The raw message, as a string. */
  payload: string;
  /** The string-valued headers of the line (others are dropped); empty when it has none. */
  headers: Record<string, string>;
}

/**
 * A line's message, or null when the line is not a recorded message: not JSON, not an
 * object, no string payload, or no subject (a missing or empty one: no message is ever
 * published on an empty subject). (Parsing only the payload's string literal of lines in
 * the exact form our tools write was tried; on Node 20 it is no faster than JSON.parse.)
 */
export function parseRecordedLine(line: string): RecordedMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value['subject'] !== 'string' || value['subject'] === '' || typeof value['payload'] !== 'string') return null;
  const headers: Record<string, string> = {};
  if (isObject(value['headers'])) {
    for (const [k, v] of Object.entries(value['headers'])) if (typeof v === 'string') headers[k] = v;
  }
  return { subject: value['subject'], payload: value['payload'], headers };
}

/** One NDJSON line (no newline); `extra` fields (e.g. `seq`) come after the three of the format. */
export function formatRecordedLine(subject: string, payload: string, headers?: Record<string, string>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ subject, payload, ...(headers && Object.keys(headers).length > 0 ? { headers } : {}), ...extra });
}
