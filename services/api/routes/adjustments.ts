import type { FastifyInstance } from 'fastify';
import { TallyError, toJsonMicros } from '../../../shared/domain/index.js';
import type { ApiContext } from '../context.js';
import { admitOperator } from '../operator/routes.js';
import { accountParams, adjustmentBody, alertsBody, beyondInt64, parseInput } from '../schemas.js';
import { accountView, adjustmentView } from '../views.js';

/** SPEC 14: an operator action on money names what it does; an empty request is never a default. */
function requireBody(body: unknown): void {
  const empty = body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0);
  if (empty) throw new TallyError('selection_required', 'say what to adjust: {"adjustment_id", "amount_micros", "reason"}');
}

/**
 * Operator money and alert settings (SPEC 13 "Adjustments"): the admin token or an operator
 * session, the Origin check applying to the session's forms (origin.ts). Both are a ledger
 * entry then a fold by the shard owner, answered once folded (202 while it is pending).
 */
export function adjustmentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/admin/accounts/:id/adjustments', async (request, reply) => {
    const by = await admitOperator(request, reply, ctx);
    const { id } = parseInput(accountParams, request.params, 'params');
    requireBody(request.body);
    if (beyondInt64((request.body as { amount_micros?: unknown }).amount_micros, true)) {
      throw new TallyError('amount_out_of_range', 'amount_micros does not fit Int64');
    }
    const body = parseInput(adjustmentBody, request.body, 'body');
    const outcome = await ctx.billing.adjust({ adjustmentId: body.adjustment_id, accountId: id, amountMicros: body.amount_micros, reason: body.reason, by });
    return reply.code(outcome.folded ? 200 : 202).send({
      ...adjustmentView(outcome.value.entry),
      duplicate: outcome.value.duplicate,
      folded: outcome.folded,
      account: outcome.account ? accountView(outcome.account) : null,
    });
  });

  app.put('/v1/admin/accounts/:id/alerts', async (request, reply) => {
    await admitOperator(request, reply, ctx);
    const { id } = parseInput(accountParams, request.params, 'params');
    const body = parseInput(alertsBody, request.body, 'body');
    const outcome = await ctx.billing.setAlerts(id, body.low_balance_micros);
    return reply.code(outcome.folded ? 200 : 202).send({
      account_id: id,
      low_balance_micros: body.low_balance_micros === null ? null : toJsonMicros(body.low_balance_micros),
      folded: outcome.folded,
      account: outcome.account ? accountView(outcome.account) : null,
    });
  });
}
