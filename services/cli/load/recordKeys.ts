/**
 * What `tally replay` reads from a recorded message's payload, beyond the format itself
 * (shared/domain/recorded.ts parses the lines).
 */
import { RECORD_ID_PATTERN, isObject, parseRfc3339 } from '../../../shared/domain/index.js';

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
