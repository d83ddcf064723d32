import type { FastifyInstance } from 'fastify';
import { TallyError } from '../../../shared/domain/index.js';
import type { ApiContext } from '../context.js';
import { NotReadyError } from '../operator/health.js';

/** Health, readiness and the pipeline counts. */
export function opsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** The process is alive and serving HTTP: nothing else is checked (a restart would not fix a server that is away). */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /** Ready when every dependency answers; the body names each check, and why one failed. */
  app.get('/readyz', async (_request, reply) => {
    try {
      const checks = await ctx.ready();
      return checks ? { status: 'ready', checks } : { status: 'ready' };
    } catch (err) {
      ctx.logger.warn({ err }, 'not ready');
      if (err instanceof NotReadyError) return reply.code(503).send({ ...err.toBody(), checks: err.checks });
      throw new TallyError('unavailable', 'MongoDB or Redis does not answer');
    }
  });

  // Open to anyone: the address limit holds a flood of it to paused refusals, like every /v1 route.
  app.get('/v1/stats', { onRequest: ctx.limits.byIp }, async () => ctx.stats());
}
