/** Builders of wire-format v1 usage records for tests (SPEC 3). */
export interface WireRecordJson {
  id: string;
  account_id: string;
  kind: string;
  quantity: number;
  applies_to?: string;
  occurred_at: string;
  cost_micros?: number;
  meta?: Record<string, unknown>;
}

export function usage(id: string, account: string, fields: Partial<WireRecordJson> = {}, occurredAt = new Date()): WireRecordJson {
  return { id, account_id: account, kind: 'llm_token', quantity: 1000, applies_to: 'llm', occurred_at: occurredAt.toISOString(), ...fields };
}

/** One bad message per dead-letter code of SPEC 3: [code, subject, payload]. */
export function badMessages(now: Date): [string, string, string][] {
  const ok = (over: Record<string, unknown>, id: string): string => JSON.stringify({ ...usage(id, 'acct-bad', {}, now), ...over });
  const day = 86_400_000;
  return [
    ['malformed_json', 'usage.acct-bad', '{"id": "x1", '],
    ['too_large', 'usage.acct-bad', ok({ meta: { pad: 'x'.repeat(9000) } }, 'x2')],
    ['invalid_id', 'usage.acct-bad', ok({ id: 'has space' }, 'x3')],
    ['invalid_account', 'usage.bad!acct', JSON.stringify({ ...usage('x4', 'bad!acct', {}, now) })],
    ['subject_mismatch', 'usage.someone-else', ok({}, 'x5')],
    ['invalid_kind', 'usage.acct-bad', ok({ kind: 'gpu_second' }, 'x6')],
    ['invalid_quantity', 'usage.acct-bad', ok({ quantity: -1 }, 'x7')],
    ['invalid_applies_to', 'usage.acct-bad', ok({ applies_to: 'storage' }, 'x8')],
    ['invalid_occurred_at', 'usage.acct-bad', ok({ occurred_at: 'yesterday' }, 'x9')],
    ['occurred_in_future', 'usage.acct-bad', ok({ occurred_at: new Date(now.getTime() + 3_600_000).toISOString() }, 'x10')],
    ['too_late', 'usage.acct-bad', ok({ occurred_at: new Date(now.getTime() - 40 * day).toISOString() }, 'x11')],
    ['invalid_cost', 'usage.acct-bad', ok({ cost_micros: 1.5 }, 'x12')],
    ['invalid_meta', 'usage.acct-bad', ok({ meta: 'not an object' }, 'x13')],
    ['unpriced', 'usage.acct-bad', ok({ kind: 'other' }, 'x14')],
  ];
}
