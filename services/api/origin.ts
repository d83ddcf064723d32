import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TallyError } from '../../shared/domain/index.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The API's own origin as the browser sees it: the request's scheme and Host. Behind a
 * proxy fastify takes them from X-Forwarded-Proto / X-Forwarded-Host only when the peer
 * is trusted (TRUST_PROXY), so a client cannot name its own origin as ours.
 */
export function ownOrigin(request: FastifyRequest): string | null {
  const candidate = `${request.protocol}://${request.host}`;
  return URL.canParse(candidate) ? new URL(candidate).origin : null;
}

/** The origin a browser says the request comes from: `Origin`, else the `Referer`'s; null when it says nothing. */
function claimedOrigin(request: FastifyRequest): string | null {
  const origin = request.headers.origin;
  // `Origin: null` (sandboxed frames, some cross-site redirects) is a foreign origin, not an absent one.
  if (origin !== undefined) return origin === 'null' || !URL.canParse(origin) ? 'null' : new URL(origin).origin;
  const referer = request.headers.referer;
  if (referer === undefined) return null;
  return URL.canParse(referer) ? new URL(referer).origin : 'null';
}

/** Operator routes: the admin API and bull-board (sign-in and sign-out need no credential and are checked as forms). */
const operatorRoute = (url: string): boolean => url.startsWith('/v1/admin/') || url.startsWith('/admin/');

/**
 * The state-changing requests whose Origin is checked: on operator routes every one (SPEC
 * 14: nothing a browser on another site sends may change money or records there, whatever
 * credential it carries); elsewhere those a browser may send with an account holder's
 * cookie on another site's behalf (CSRF), i.e. all but a Bearer header without a cookie,
 * a script's credential that no other site can make a browser send (a browser extension
 * posting usage with a producer key keeps working).
 */
function originChecked(request: FastifyRequest): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  if (operatorRoute(request.url)) return true;
  return request.headers.authorization === undefined || request.headers.cookie !== undefined;
}

/**
 * Every state-changing operator request, and every one a cookie session could make (operator
 * /login, /logout, re-drive, bull-board's actions; the account page's forms), is refused with 403
 * `forbidden_origin` when its Origin (or, without one, its Referer) names another origin
 * than the API's own. A request with neither (curl, a server) passes: only browsers carry
 * cookies across sites, and they send Origin on every cross-site POST. SameSite on both
 * session cookies is the first line; this one holds for browsers without it and for
 * sign-in forms (login CSRF), where there is no cookie yet.
 */
export function installOriginCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!originChecked(request)) return;
    const claimed = claimedOrigin(request);
    if (claimed === null || claimed === ownOrigin(request)) return;
    request.log.warn({ origin: claimed.slice(0, 100), url: request.url.split('?')[0] }, 'cross-origin request refused');
    // Answered here, as JSON, whatever the route: the account page's and bull-board's own
    // error handlers would turn it into a page or a 500.
    return reply.code(403).send(new TallyError('forbidden_origin', `a request from ${claimed.slice(0, 100)} may not change anything here`).toBody());
  });
}
