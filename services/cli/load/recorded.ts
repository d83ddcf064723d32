/**
 * The recorded stream format (SPEC 13), read by `replay` and written by `export` and
 * `generate`: NDJSON, one message a line, `{"subject", "payload", "headers"?}`; other
 * fields are ignored.
 */
import { RECORD_ID_PATTERN, parseRfc3339 } from '../../../shared/domain/index.js';

export interface RecordedMessage {
  subject: string;
  /** The raw message, as a string. */
  payload: string;
  headers: Record<string, string>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A line's message, or null when the line is not a recorded message (blank, not JSON, fields missing). */
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

/**
 * What replay needs from a payload: the record id (its Nats-Msg-Id) and occurred_at
 * (for `--speed`), read from a v1 record or a CloudEvent's `data` and envelope as the
 * validator does. Either is undefined when the payload does not give a usable one:
 * such messages are still sent, the pipeline dead-letters them.
 */
export function recordKeys(payload: string): { id?: string; occurredAt?: number } {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return {};
  }
  if (!isObject(value)) return {};
  const data = 'specversion' in value && isObject(value['data']) ? value['data'] : value;
  const id = data['id'] ?? value['id'];
  const at = data['occurred_at'] ?? value['time'];
  const occurredAt = typeof at === 'string' ? parseRfc3339(at) : null;
  return {
    ...(typeof id === 'string' && RECORD_ID_PATTERN.test(id) ? { id } : {}),
    ...(occurredAt !== null ? { occurredAt } : {}),
  };
}

/** One NDJSON line (no newline); `extra` fields (e.g. `seq`) come after the three of the format. */
export function formatRecordedLine(subject: string, payload: string, headers?: Record<string, string>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ subject, payload, ...(headers && Object.keys(headers).length > 0 ? { headers } : {}), ...extra });
}
