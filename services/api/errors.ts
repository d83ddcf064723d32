import type { FastifyError } from 'fastify';
import { TallyError, type ErrorCode } from '../../shared/domain/index.js';

/** What a failed request answers, and how loudly it is logged. */
export interface HttpFailure {
  error: TallyError;
  /** `error`: unexpected, worth a look; `warn`: a dependency is away; none: the client's fault. */
  log?: 'warn' | 'error';
}

/**
 * fastify's (and its plugins') client errors by status: body too large, a path parameter
 * over 100 characters, unsupported media type, unknown route. Every other 4xx they raise (bad JSON, empty JSON body, a content
 * length that does not match, a malformed URL, schema validation) is 400 `invalid_request`.
 */
const CLIENT_ERRORS: Readonly<Record<number, ErrorCode>> = {
  404: 'not_found',
  413: 'body_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

const UNAVAILABLE = /^Mongo(?:ServerSelection|Network|NotConnected|Topology)|^MaxRetriesPerRequest|ECONNREFUSED|Connection is closed/;

/**
 * The one mapping from whatever a route, hook or parser threw to a registry code and its
 * status, used by every error handler of the API (JSON, the account page, bull-board):
 * TallyErrors as they are; fastify's client errors as their 4xx; a store that does not
 * answer as 503 `unavailable`; anything else as 500 `internal`.
 */
export function httpFailure(err: unknown): HttpFailure {
  if (err instanceof TallyError) return { error: err };
  const e = err instanceof Error ? err : new Error(String(err));
  const status = (e as Partial<FastifyError>).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { error: new TallyError(CLIENT_ERRORS[status] ?? 'invalid_request', e.message.slice(0, 300)) };
  }
  if (UNAVAILABLE.test(e.name) || UNAVAILABLE.test(e.message)) return { error: new TallyError('unavailable'), log: 'warn' };
  return { error: new TallyError('internal'), log: 'error' };
}
