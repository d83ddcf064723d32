import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TallyError } from '../../../shared/domain/index.js';
import { sameSecret } from '../auth.js';
import type { ApiContext } from '../context.js';
import { parseInput } from '../schemas.js';
import type { Asset } from './assets.js';
import type { OperatorData } from './data.js';
import { deadLetterAt, latestDeadLetters } from '../../../shared/bus/index.js';
import { dashboardPage, loginPage, unauthorizedPage } from './pages.js';
import { clearSession, presentsOperatorCredentials, requireOperator, safeNext, setSession, wantsHtml, type OperatorCredential } from './session.js';

/** Our own pages run only our own scripts and cannot be framed (clickjacking of the sign-out, the viewer). */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` even on
  // our own forms' posts, which the Origin check (origin.ts) must refuse.
  'referrer-policy': 'same-origin',
} as const;

const page = (reply: FastifyReply, status: number, html: string) => reply.code(status).headers(PAGE_HEADERS).send(html);

const searchQuery = z.strictObject({ search: z.string().max(128).optional(), limit: z.coerce.number().int().min(1).max(500).optional() });
const deadQuery = z.strictObject({
  code: z
    .string()
    .regex(/^[a-z_]{1,64}$/, 'must be a dead-letter code')
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});
const seqParams = z.strictObject({ seq: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });
const loginForm = z.object({ token: z.string().max(1024).default(''), next: z.string().max(1024).optional() });

/** Sign-in and sign-out: the only routes that take a form body (parsed only in their scope). */
export function sessionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.register(async (scope) => {
    await scope.register(formbody, { bodyLimit: 4096 });
    scope.get('/login', async (request, reply) => {
      const next = safeNext((request.query as { next?: unknown }).next);
      return page(reply, 200, loginPage({ next, configured: ctx.credentials.adminToken !== undefined }));
    });
    scope.post('/login', async (request, reply) => {
      const form = loginForm.safeParse(request.body);
      const next = safeNext(form.success ? form.data.next : undefined);
      const token = form.success ? form.data.token : '';
      const configured = ctx.credentials.adminToken !== undefined;
      try {
        await ctx.limits.signIn(request, reply, true, () => {
          if (!sameSecret(token, ctx.credentials.adminToken)) throw new TallyError('unauthorized', 'That is not the admin token.');
        });
      } catch (err) {
        if (!(err instanceof TallyError)) throw err;
        ctx.logger.warn({ ip: request.ip, code: err.code }, 'operator sign-in refused');
        return page(reply, err.status, loginPage({ next, error: err.message, configured }));
      }
      setSession(reply, request, token, ctx.clock(), ctx.operatorSessionMs);
      return reply.code(303).header('location', next).send();
    });
    scope.post('/logout', async (request, reply) => {
      clearSession(reply, request);
      return reply.code(303).header('location', '/login').send();
    });
  });
}

/** The page scripts and styles: public (nothing secret in them), so the sign-in page can use them too. */
export function assetRoutes(app: FastifyInstance, assets: ReadonlyMap<string, Asset>): void {
  app.get('/ops/assets/:name', async (request, reply) => {
    const asset = assets.get((request.params as { name: string }).name);
    if (!asset) throw new TallyError('not_found', 'no such asset');
    return reply.headers({ 'content-type': asset.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).send(asset.body);
  });
}

/** The admin token or an operator session, under the address's budget of refused sign-ins; who it was. */
export function admitOperator(request: FastifyRequest, reply: FastifyReply, ctx: ApiContext): Promise<OperatorCredential> {
  return ctx.limits.signIn(request, reply, presentsOperatorCredentials(request), () =>
    requireOperator(request, ctx.credentials, ctx.clock(), ctx.operatorSessionMs),
  );
}

/**
 * Everything registered in `scope` needs the operator: a browser without a session gets the
 * 401 page with a sign-in link, anything else 401 `unauthorized` JSON.
 */
export function guardOperator(scope: FastifyInstance, ctx: ApiContext): void {
  scope.addHook('onRequest', async (request, reply) => {
    try {
      await admitOperator(request, reply, ctx);
    } catch (err) {
      if (!(err instanceof TallyError)) throw err;
      if (err.code === 'unauthorized' && request.method === 'GET' && wantsHtml(request)) return page(reply, 401, unauthorizedPage(request.url));
      // Answered here rather than thrown: bull-board's routes have their own error handler,
      // which would turn the 401 into a 500.
      return reply.code(err.status).send(err.toBody());
    }
  });
}

/** The dashboard page and the JSON it polls (`/v1/admin/dashboard/*`). */
export function dashboardRoutes(scope: FastifyInstance, data: OperatorData, bus: Parameters<typeof latestDeadLetters>[0]): void {
  scope.get('/', async (_request, reply) => page(reply, 200, dashboardPage()));

  scope.get('/v1/admin/dashboard/overview', async () => data.overview());

  scope.get('/v1/admin/dashboard/accounts', async (request) => {
    const q = parseInput(searchQuery, request.query, 'query');
    return data.accountRows(q.search ?? '', q.limit ?? 100);
  });

  scope.get('/v1/admin/dashboard/dead-letters', async (request) => {
    const q = parseInput(deadQuery, request.query, 'query');
    return { dead_letters: await latestDeadLetters(bus, { limit: q.limit ?? 50, ...(q.code ? { code: q.code } : {}) }) };
  });

  scope.get('/v1/admin/dashboard/dead-letters/:seq', async (request) => {
    const { seq } = parseInput(seqParams, request.params, 'params');
    const letter = await deadLetterAt(bus, seq);
    if (!letter) throw new TallyError('not_found', `no dead letter at sequence ${seq} (expired or never stored)`);
    return letter;
  });

  scope.get('/v1/admin/dashboard/usage', async () => data.recentUsage(Date.now()));

  scope.get('/v1/admin/dashboard/allocations', async () => data.recentAllocations());

  scope.get('/v1/admin/dashboard/ticks', async () => data.tickHistory());
}
