import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseUsageQuery, TallyError, usageAnswer } from '../../../shared/domain/index.js';
import { InvalidCursorError, pageAllocations, type AccountDoc } from '../../../shared/store/index.js';
import { authorize, presentsBearer } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { AccountLedgerPage } from '../ledger.js';
import { accountParams, allocateVmBody, allocationsQuery, buyPlanBody, ledgerQuery, parseInput } from '../schemas.js';
import { accountView, allocationView, ledgerLineView, purchaseView } from '../views.js';

/** 201 once the owner has folded the write, 202 when the entry is stored and its fold is still pending. */
const written = (folded: boolean): number => (folded ? 201 : 202);

const view = (account: AccountDoc | null) => (account ? accountView(account) : null);

/** `/v1/accounts/:id/*`: read an account and its usage, buy a plan, allocate a VM (SPEC 7, 13). */
export function accountRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const ledgerBodies = new WeakMap<AccountLedgerPage, string>();
  /** Who may call (SPEC 13) before what was asked: an outsider learns nothing from a 400. Then the per-key limit. */
  const accountId = async (params: unknown, request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    const id = String((params as { id?: unknown }).id ?? '');
    const caller = await ctx.limits.signIn(request, reply, presentsBearer(request), () => authorize(request, id, ctx.credentials, ctx.keys));
    if (caller.kind === 'key') await ctx.limits.byKey(request, reply, caller.keyId);
    return parseInput(accountParams, params, 'params').id;
  };
  /** Every account route signs in first: its slot is asked for beside the address's limit. */
  const signingIn = ctx.limits.byIpSigningIn(presentsBearer);
  const limited = { onRequest: signingIn };
  /**
   * The account read, started before the caller is checked: its answer, or its 404, is used
   * only once `accountId` has let the caller in, so an outsider still learns nothing. Only
   * for an id the params accept; anything else waits for `accountId`'s 400.
   */
  const readEarly = (params: unknown): Promise<AccountDoc> | null => {
    const parsed = accountParams.safeParse(params);
    if (!parsed.success) return null;
    const read = ctx.billing.account(parsed.data.id);
    read.catch(() => undefined); // awaited below once the caller is let in; refused callers never see it
    return read;
  };
  const reads = new WeakMap<FastifyRequest, Promise<AccountDoc> | null>();
  /**
   * The reads of an account (issue 29): the read, the address's limit and the sign-in slot
   * asked for at once, before the handler, so a request waits for one Redis round trip where
   * it waited for three in a row. A refused request costs the read too.
   */
  const reading = {
    onRequest: [async (request: FastifyRequest) => void reads.set(request, readEarly(request.params)), signingIn],
  };
  /** The caller let in, then the account read (begun in `reading`'s hook), not yet awaited: a 400 of the query still comes before a 404. */
  const account = async (params: unknown, request: FastifyRequest, reply: FastifyReply): Promise<{ id: string; read: Promise<AccountDoc> }> => {
    const read = reads.get(request);
    const id = await accountId(params, request, reply);
    return { id, read: read ?? ctx.billing.account(id) };
  };

  app.get('/v1/accounts/:id', reading, async (request, reply) => accountView(await (await account(request.params, request, reply)).read));

  // The account's rollups, from its projection in the read model: O(its buckets), no scan (SPEC 11 rule 4).
  app.get('/v1/accounts/:id/usage', reading, async (request, reply) => {
    const { id, read } = await account(request.params, request, reply);
    const query = parseUsageQuery(request.query as Record<string, unknown>, ctx.clock(), ctx.lateArrivalDays);
    return usageAnswer(id, (await read).usage, query);
  });

  app.get('/v1/accounts/:id/ledger', limited, async (request, reply) => {
    const id = await accountId(request.params, request, reply);
    const query = parseInput(ledgerQuery, request.query, 'query');
    const read = await ctx.ledger.read(id, query.limit ?? 100, query.after);
    // A cached page is shared by every caller until it expires: its body is written once.
    let body = ledgerBodies.get(read);
    if (body === undefined) {
      body = JSON.stringify({
        account_id: id,
        balance_micros: accountView(read.account).balance_micros,
        entries: read.page.entries.map(ledgerLineView),
        next: read.page.next,
      });
      ledgerBodies.set(read, body);
    }
    return reply.type('application/json; charset=utf-8').send(body);
  });

  app.get('/v1/accounts/:id/allocations', limited, async (request, reply) => {
    const id = await accountId(request.params, request, reply);
    const query = parseInput(allocationsQuery, request.query, 'query');
    await ctx.billing.account(id);
    try {
      const page = await pageAllocations(ctx.db, id, { limit: query.limit ?? 100, after: query.after });
      return { account_id: id, allocations: page.allocations.map(allocationView), next: page.next };
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new TallyError('invalid_request', err.message);
      throw err;
    }
  });

  app.post('/v1/accounts/:id/plan', limited, async (request, reply) => {
    const id = await accountId(request.params, request, reply);
    const body = parseInput(buyPlanBody, request.body, 'body');
    const outcome = await ctx.billing.buyPlan(id, body.plan_id);
    return reply.code(written(outcome.folded)).send({ purchase: purchaseView(outcome.value), folded: outcome.folded, account: view(outcome.account) });
  });

  app.post('/v1/accounts/:id/vms', limited, async (request, reply) => {
    const id = await accountId(request.params, request, reply);
    parseInput(allocateVmBody, request.body, 'body');
    const outcome = await ctx.billing.allocateVm(id);
    return reply.code(written(outcome.folded)).send({ allocation: allocationView(outcome.value), folded: outcome.folded, account: view(outcome.account) });
  });
}
