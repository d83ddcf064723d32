import type { FastifyInstance } from 'fastify';
import { TallyError } from '../../../shared/domain/index.js';
import type { ApiContext } from '../context.js';

/** Health, readiness and the pipeline counts. */
export function opsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    try {
      await ctx.ready();
    } catch (err) {
      ctx.logger.warn({ err }, 'not ready');
      throw new TallyError('unavailable', 'MongoDB or Redis does not answer');
    }
    return { status: 'ready' };
  });

  app.get('/v1/stats', async () => ctx.stats());
}
