/**
 * What `tally replay` reads from a recorded message's payload, beyond the format itself
 * (shared/domain/recorded.ts parses the lines).
 */
import { ACCOUNT_ID_PATTERN, RECORD_ID_PATTERN, isObject, parseRfc3339 } from '../../../shared/domain/index.js';

/**
 * What replay needs from a payload: the record id and account (its Nats-Msg-Id) and
 * occurred_at (for `--speed`), read from a v1 record or a CloudEvent's `data` and envelope
 * as the validator does. Each is undefined when the payload does not give a usable one:
 * such messages are still sent, the pipeline dead-letters them.
 */
export function recordKeys(payload: string): { id?: string; accountId?: string; occurredAt?: number } {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return {};
  }
  if (!isObject(value)) return {};
  const data = 'specversion' in value && isObject(value['data']) ? value['data'] : value;
  const id = data['id'] ?? value['id'];
  const account = data['account_id'] ?? (data === value ? undefined : value['subject']);
  const at = data['occurred_at'] ?? value['time'];
  const occurredAt = typeof at === 'string' ? parseRfc3339(at) : null;
  return {
    ...(typeof id === 'string' && RECORD_ID_PATTERN.test(id) ? { id } : {}),
    ...(typeof account === 'string' && ACCOUNT_ID_PATTERN.test(account) ? { accountId: account } : {}),
    ...(occurredAt !== null ? { occurredAt } : {}),
  };
}
