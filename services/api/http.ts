import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TallyError } from '../../shared/domain/index.js';
import { httpFailure } from './errors.js';
import { INVALID_JSON } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body bytes as received: the webhook signature is computed over these, never over re-serialized JSON. */
    rawBody?: Buffer;
  }
  interface FastifyInstance {
    /** Every route the app serves, as fastify registered it (HEAD twins included). */
    routeTable: readonly RouteEntry[];
  }
}

export interface RouteEntry {
  method: string;
  /** The pattern, prefix included: `/v1/accounts/:id`, `/admin/queues/*`. */
  url: string;
}

/**
 * Records every route registered from now on, in any scope, as `app.routeTable`: what the
 * HTTP fuzz test walks, so a new route is fuzzed without anyone listing it.
 */
export function collectRoutes(app: FastifyInstance): void {
  const routes: RouteEntry[] = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
}

/** Request bodies above this are refused with 413 `body_too_large` before they are read whole. */
export const BODY_LIMIT_BYTES = 64 * 1024;

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
 * The JSON answer to a failed request. Also fastify's `frameworkErrors` handler: the router
 * answers a malformed URL or an over-long path parameter itself, before any error handler.
 */
export function sendFailure(err: Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { error, log } = httpFailure(err);
  if (log === 'warn') request.log.warn({ err }, 'dependency unavailable');
  if (log === 'error') request.log.error({ err }, 'request failed');
  return reply.code(error.status).send(error.toBody());
}

/**
 * Every error leaves as `{"error": {"code", "message"}}` with a code of the registry and its
 * status (httpFailure); an unknown route is 404 `not_found`.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(sendFailure);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new TallyError('not_found', `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200) ?? ''}`).toBody());
  });
}
