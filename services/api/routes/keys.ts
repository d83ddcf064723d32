import type { FastifyInstance } from 'fastify';
import { TallyError } from '../../../shared/domain/index.js';
import { admitAdmin } from '../auth.js';
import type { ApiContext } from '../context.js';
import { accountParams, keyParams, parseInput, producerKeyParams } from '../schemas.js';

/**
 * `/v1/admin/accounts/:id/keys` and `/v1/admin/producer-keys`: the admin creates, lists and
 * revokes account keys (SPEC 13) and producer keys (POST /v1/usage for any account, no reads). The key is in the creation answer only; listings show ids and creation times.
 */
export function keyRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/v1/admin/accounts/:id/keys', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const { id } = parseInput(accountParams, request.params, 'params');
    const created = await ctx.keys.create(id);
    // The key must not linger in shared caches or proxies: it is shown once.
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ account_id: id, key_id: created.keyId, key: created.key, created_at: created.createdAt.toISOString() });
  });

  app.get('/v1/admin/accounts/:id/keys', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const { id } = parseInput(accountParams, request.params, 'params');
    const keys = await ctx.keys.list(id);
    return { account_id: id, keys: keys.map((k) => ({ key_id: k.keyId, created_at: k.createdAt.toISOString() })) };
  });

  app.post('/v1/admin/producer-keys', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const created = await ctx.keys.create(null);
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ producer: true, key_id: created.keyId, key: created.key, created_at: created.createdAt.toISOString() });
  });

  app.get('/v1/admin/producer-keys', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const keys = await ctx.keys.list(null);
    return { keys: keys.map((k) => ({ key_id: k.keyId, created_at: k.createdAt.toISOString() })) };
  });

  app.delete('/v1/admin/producer-keys/:key_id', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const params = parseInput(producerKeyParams, request.params, 'params');
    const revoked = await ctx.keys.revoke(null, params.key_id);
    if (revoked === null) throw new TallyError('not_found', `no producer key ${params.key_id}`);
    return { producer: true, key_id: params.key_id, revoked: true, revoked_at: revoked.revokedAt.toISOString() };
  });

  app.delete('/v1/admin/accounts/:id/keys/:key_id', async (request, reply) => {
    await admitAdmin(request, reply, ctx.credentials, ctx.limits);
    const params = parseInput(keyParams, request.params, 'params');
    const revoked = await ctx.keys.revoke(params.id, params.key_id);
    if (revoked === null) throw new TallyError('not_found', `account ${params.id} has no key ${params.key_id}`);
    return { account_id: params.id, key_id: params.key_id, revoked: true, revoked_at: revoked.revokedAt.toISOString() };
  });
}
