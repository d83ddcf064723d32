import type { DeadLetterFilter } from '../../bus/index.js';
import { ACCOUNT_ID_PATTERN, TallyError, isDeadLetterCode, parseRfc3339 } from '../../domain/index.js';

/** Filters as an operator types them (CLI options, HTTP query): codes, RFC 3339 instants, an account. */
export interface FilterInput {
  codes?: readonly string[];
  since?: string;
  until?: string;
  account?: string;
}

function instant(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const at = parseRfc3339(text);
  if (at === null) throw new TallyError('invalid_request', `${name}: not an RFC 3339 timestamp with a time zone: ${text}`);
  return at;
}

/** Checks and converts the filters; `invalid_request` names the first bad one. Codes may be comma-separated. */
export function parseDeadLetterFilter(input: FilterInput): DeadLetterFilter {
  const codes = (input.codes ?? [])
    .flatMap((c) => c.split(','))
    .map((c) => c.trim())
    .filter(Boolean);
  for (const code of codes) if (!isDeadLetterCode(code)) throw new TallyError('invalid_request', `code: not a dead-letter code: ${code}`);
  if (input.account !== undefined && !ACCOUNT_ID_PATTERN.test(input.account))
    throw new TallyError('invalid_request', `account: not an account id: ${input.account}`);
  const since = instant('since', input.since);
  const until = instant('until', input.until);
  return {
    ...(codes.length > 0 ? { codes: [...new Set(codes)] } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(input.account !== undefined ? { account: input.account } : {}),
  };
}

/**
 * SPEC 14: a re-drive touches money and many records, so it needs an explicit selection:
 * at least one filter, or `all` for every dead letter. An empty request is
 * `selection_required`, never "everything"; `all` with filters is contradictory.
 */
export function requireSelection(input: FilterInput, all: boolean): void {
  const filtered = (input.codes ?? []).some((c) => c.trim() !== '') || input.since !== undefined || input.until !== undefined || input.account !== undefined;
  if (all && filtered) throw new TallyError('invalid_request', 'all selects every dead letter: leave out code, since, until and account, or all');
  if (!all && !filtered)
    throw new TallyError('selection_required', 'say which dead letters: code, since, until or account; or all (tally dlq redrive --all) for every one');
}
