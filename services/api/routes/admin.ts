import type { FastifyInstance } from 'fastify';
import { runLadderTick, tickReport } from '../../../shared/app/index.js';
import { listTicks, listTierTransitions } from '../../../shared/store/index.js';
import { admitAdmin } from '../auth.js';
import type { ApiContext } from '../context.js';
import { accountParams, kycBody, parseInput, tickBody, ticksQuery } from '../schemas.js';
import { accountView, transitionView } from '../views.js';

/** `/v1/admin/*`: admin token only. */
export function adminRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/admin/accounts/:id/kyc', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const { id } = parseInput(accountParams, request.params, 'params');
    const body = parseInput(kycBody, request.body, 'body');
    const outcome = await ctx.billing.setKyc(id, body.verified);
    return { account_id: id, kyc_verified: body.verified, folded: outcome.folded, account: outcome.account ? accountView(outcome.account) : null };
  });

  app.get('/v1/admin/accounts/:id/tiers', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const { id } = parseInput(accountParams, request.params, 'params');
    return { account_id: id, transitions: (await listTierTransitions(ctx.db, id)).map(transitionView) };
  });

  /** Runs the ladder tick now; `{"now": "<RFC 3339>"}` runs it as of another instant (operators, tests). */
  app.post('/v1/admin/ladder-tick', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const body = parseInput(tickBody, request.body, 'body');
    const report = await runLadderTick(
      { queues: ctx.queues, db: ctx.db, logger: ctx.logger },
      { now: body?.now ?? ctx.clock(), source: 'admin', timeoutMs: ctx.tickTimeoutMs },
    );
    return reply.code(report.complete ? 200 : 202).send(report);
  });

  app.get('/v1/admin/ticks', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const query = parseInput(ticksQuery, request.query, 'query');
    return { ticks: (await listTicks(ctx.db, query.limit ?? 50)).map(tickReport) };
  });
}
