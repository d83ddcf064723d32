import type { FastifyInstance } from 'fastify';
import { TallyError, toJsonMicros } from '../../../shared/domain/index.js';
import { requireSignature } from '../auth.js';
import type { ApiContext } from '../context.js';
import { beyondInt64, parseInput, paymentBody } from '../schemas.js';
import { accountView } from '../views.js';

/**
 * `POST /v1/webhooks/payment` (SPEC 7, 13): the signature first (over the raw bytes), then
 * the body. 200 when credited (`duplicate: true` for a replay, credited once), 202 when the
 * credit is stored and its fold still pending: either way the provider must not retry.
 */
export function webhookRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/webhooks/payment', { onRequest: ctx.limits.byIp }, async (request, reply) => {
    requireSignature(request.rawBody ?? Buffer.alloc(0), request.headers['x-tally-signature'], ctx.credentials);
    if (beyondInt64((request.body as { amount_micros?: unknown } | null)?.amount_micros)) {
      throw new TallyError('amount_out_of_range', 'amount_micros does not fit Int64');
    }
    const body = parseInput(paymentBody, request.body, 'body');
    const outcome = await ctx.billing.creditPayment({
      paymentId: body.payment_id,
      accountId: body.account_id,
      amountMicros: body.amount_micros,
      paidAt: body.paid_at,
    });
    return reply.code(outcome.folded ? 200 : 202).send({
      payment_id: body.payment_id,
      account_id: body.account_id,
      amount_micros: toJsonMicros(body.amount_micros),
      duplicate: outcome.value.duplicate,
      folded: outcome.folded,
      account: outcome.account ? accountView(outcome.account) : null,
    });
  });
}
