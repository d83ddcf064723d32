/** Builders shared by the domain tests: one fixed "now" and wire-format records around it. */
import { DEFAULT_PRICE_BOOK, type ValidationContext } from '../../../shared/domain/index.js';

export const NOW = Date.parse('2025-03-01T12:00:00.000Z');
export const DAY = 86_400_000;
export const CTX: ValidationContext = { now: NOW, lateArrivalDays: 35, priceBook: DEFAULT_PRICE_BOOK };

export const iso = (ms: number): string => new Date(ms).toISOString();

/** A valid v1 record, with overrides; `undefined` in overrides removes the field. */
export function v1(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: 'rec-1',
    account_id: 'acct-1',
    kind: 'llm_token',
    quantity: 1000,
    occurred_at: iso(NOW - DAY),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined));
}

/** A raw message as the bridge sees it. */
export function msg(payload: unknown, subject = 'usage.acct-1'): { subject: string; payload: string } {
  return { subject, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) };
}

/** A recorded-stream line (SPEC 13). */
export function line(payload: unknown, subject = 'usage.acct-1'): string {
  return JSON.stringify(msg(payload, subject));
}
