import type { FastifyError, FastifyInstance } from 'fastify';
import { TallyError } from '../../shared/domain/index.js';
import { INVALID_JSON } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body bytes as received: the webhook signature is computed over these, never over re-serialized JSON. */
    rawBody?: Buffer;
  }
}

/** Request bodies above this are refused with 400 `invalid_request` before they are read whole. */
export const BODY_LIMIT_BYTES = 64 * 1024;

const UNAVAILABLE = /^Mongo(?:ServerSelection|Network|NotConnected|Topology)|^MaxRetriesPerRequest|ECONNREFUSED|Connection is closed/;

/**
 * JSON bodies kept raw and parsed here; a body that is not JSON becomes a mark that the
 * route reports after authentication, so an unsigned or unauthenticated caller learns
 * nothing about its body.
 */
export function installJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch {
      done(null, INVALID_JSON);
    }
  });
}

/**
 * Every error leaves as `{"error": {"code", "message"}}` with a code of the registry:
 * TallyErrors as they are; fastify's own client errors (body too large, unsupported media
 * type, malformed URL…) as 400 `invalid_request`; a store that does not answer as 503
 * `unavailable`; anything else as 500 `internal`, logged.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | TallyError | Error, request, reply) => {
    if (err instanceof TallyError) return reply.code(err.status).send(err.toBody());
    const status = (err as FastifyError).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply.code(400).send(new TallyError('invalid_request', err.message.slice(0, 300)).toBody());
    }
    if (UNAVAILABLE.test(err.name) || UNAVAILABLE.test(err.message)) {
      request.log.warn({ err }, 'dependency unavailable');
      return reply.code(503).send(new TallyError('unavailable').toBody());
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send(new TallyError('internal').toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new TallyError('not_found', `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''}`).toBody());
  });
}
