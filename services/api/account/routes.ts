import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseUsageQuery, TallyError, usageAnswer } from '../../../shared/domain/index.js';
import { listEvents, pageAllocations, readAccount } from '../../../shared/store/index.js';
import type { ApiContext } from '../context.js';
import { httpFailure } from '../errors.js';
import { bannerFor } from './banners.js';
import { renderAccountPage, renderErrorPage, renderLoginPage } from './page.js';
import type { Session } from './session.js';

const COOKIE = 'tally_account';
const RECENT = 10;
/** VMs listed, newest first: a plan's whole quota fits. */
const VMS_SHOWN = 50;

/**
 * Page answers are private and never framed. The only scripts are our own files (the usage
 * chart: uPlot and usageChart.js, which read the data the page embeds as JSON): no inline
 * script, no request of their own (connect-src stays 'none').
 */
const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` even on
  // our own forms' posts, which the Origin check (origin.ts) must refuse.
  'referrer-policy': 'same-origin',
};

const html = (reply: FastifyReply, body: string, status = 200) => reply.code(status).headers(HEADERS).send(body);
const redirect = (reply: FastifyReply, to: string) => reply.code(303).header('cache-control', 'no-store').redirect(to, 303);
const codeOf = (err: unknown): string => (err instanceof TallyError ? err.code : 'internal');

/**
 * The account page (`/account`): server-rendered HTML and plain forms, signed in with an
 * account key. Every action is a POST that calls the same BillingService as the JSON routes
 * and redirects (303) to the page with the outcome's code in the query (`?ok=` / `?error=`),
 * which the page shows as a banner in words; a reload never repeats a purchase.
 */
export async function accountPage(app: FastifyInstance, ctx: ApiContext, ttlMs: number): Promise<void> {
  await app.register(fastifyFormbody, { bodyLimit: 4096 });
  if (!app.hasRequestDecorator('cookies')) await app.register(fastifyCookie);

  const cookieOptions = (request: FastifyRequest) => ({
    path: '/account',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: request.protocol === 'https',
    maxAge: Math.floor(ttlMs / 1000),
  });

  /** The signed-in session whose key is still valid; a session of a revoked key ends here, at once. */
  const signedIn = async (request: FastifyRequest): Promise<(Session & { sessionId: string }) | 'ended' | null> => {
    const sessionId = request.cookies[COOKIE];
    if (!sessionId) return null;
    const session = await ctx.sessions.read(sessionId);
    const key = session && (await ctx.keys.isActive(session.keyId));
    if (!session || !key || key.accountId !== session.accountId) {
      if (session) await ctx.sessions.destroy(sessionId);
      return 'ended';
    }
    return { ...session, sessionId };
  };

  /** The actions behind the page's buttons: IP limit, session, key limit, then the billing call. */
  const action = (run: (session: Session, request: FastifyRequest) => Promise<string>) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      await ctx.limits.byIp(request, reply);
      const session = await signedIn(request);
      if (session === null || session === 'ended') return redirect(reply, `/account/login${session === 'ended' ? '?ok=session_ended' : ''}`);
      await ctx.limits.byKey(request, reply, session.keyId);
      return redirect(reply, `/account?ok=${await run(session, request)}`);
    } catch (err) {
      if (!(err instanceof TallyError)) request.log.error({ err }, 'account page action failed');
      return redirect(reply, `/account?error=${codeOf(err)}`);
    }
  };

  app.setErrorHandler((err: Error, request, reply) => {
    const { error, log } = httpFailure(err);
    if (log) request.log[log]({ err }, 'account page failed');
    return html(reply, renderErrorPage(bannerFor(error.code) ?? { code: error.code, tone: 'error', text: error.code }), error.status);
  });

  app.get('/account/login', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    return html(reply, renderLoginPage(bannerFor(query['error']) ?? bannerFor(query['ok'])));
  });

  app.post('/account/login', async (request, reply) => {
    try {
      await ctx.limits.byIp(request, reply);
    } catch (err) {
      return redirect(reply, `/account/login?error=${codeOf(err)}`);
    }
    const presented = (request.body as Record<string, unknown> | undefined)?.['key'];
    let identity;
    try {
      identity = await ctx.limits.signIn(request, reply, true, async () => {
        const found = typeof presented === 'string' ? await ctx.keys.verify(presented.trim()) : null;
        // A producer key reads nothing: it signs in to no account.
        if (found === null || 'producer' in found) throw new TallyError('unauthorized', 'not a key of any account');
        return found;
      });
    } catch (err) {
      if (!(err instanceof TallyError)) throw err;
      return redirect(reply, `/account/login?error=${err.code}`);
    }
    const sessionId = await ctx.sessions.create(identity);
    reply.setCookie(COOKIE, sessionId, cookieOptions(request));
    return redirect(reply, '/account');
  });

  app.post('/account/logout', async (request, reply) => {
    const sessionId = request.cookies[COOKIE];
    if (sessionId) await ctx.sessions.destroy(sessionId);
    reply.clearCookie(COOKIE, { path: '/account' });
    return redirect(reply, '/account/login?ok=signed_out');
  });

  app.get('/account', async (request, reply) => {
    await ctx.limits.byIp(request, reply);
    const session = await signedIn(request);
    if (session === null || session === 'ended') return redirect(reply, `/account/login${session === 'ended' ? '?ok=session_ended' : ''}`);
    await ctx.limits.byKey(request, reply, session.keyId);
    const id = session.accountId;
    const query = request.query as Record<string, unknown>;
    const account = await ctx.accounts.account(id);
    const now = ctx.clock();
    // The newest lines only: one bounded ledger page, shared with the JSON route's cache.
    const ledger = account ? (await ctx.ledger.read(id, RECENT)).page.entries : [];
    const [allocations, events] = await Promise.all([pageAllocations(ctx.db, id, { limit: VMS_SHOWN }), listEvents(ctx.db, id, RECENT)]);
    return html(
      reply,
      renderAccountPage({
        accountId: id,
        now,
        usage: usageAnswer(id, account?.usage, parseUsageQuery({ group_by: 'kind' }, now, ctx.lateArrivalDays)),
        banner: bannerFor(query['error']) ?? bannerFor(query['ok']) ?? (account ? null : bannerFor('account_not_found')),
        account,
        plans: ctx.plans,
        ladder: ctx.ladder,
        allocations: allocations.allocations,
        ledger,
        events,
      }),
    );
  });

  app.post(
    '/account/plan',
    action(async (session, request) => {
      const planId = (request.body as Record<string, unknown> | undefined)?.['plan_id'];
      if (typeof planId !== 'string' || planId.length === 0 || planId.length > 64) throw new TallyError('invalid_request', 'plan_id is missing');
      const outcome = await ctx.billing.buyPlan(session.accountId, planId);
      return outcome.folded ? 'plan_purchased' : 'pending';
    }),
  );

  app.post(
    '/account/vms',
    action(async (session) => {
      const outcome = await ctx.billing.allocateVm(session.accountId);
      return outcome.folded ? 'vm_allocated' : 'pending';
    }),
  );
}
