import type { FastifyInstance } from 'fastify';
import { TallyError } from '../../../shared/domain/index.js';
import type { ApiContext } from '../context.js';
import { NotReadyError } from '../operator/health.js';

/** Health, readiness and the pipeline counts. */
export function opsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** The process is alive and serving HTTP: nothing else is checked (a restart would not fix a server that is away). */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /**
   * Ready when every dependency answers. Open to anyone, so the body names which checks
   * are down (`{"ready": false, "down": ["redis"]}`) and never why: the errors' text
   * carries host names and URLs, which go to the log.
   */
  app.get('/readyz', async (_request, reply) => {
    try {
      const checks = await ctx.ready();
      return checks ? { status: 'ready', ready: true, checks } : { status: 'ready', ready: true };
    } catch (err) {
      if (err instanceof NotReadyError) {
        ctx.logger.warn({ down: err.down, reasons: err.reasons }, 'not ready');
        return reply.code(503).send({ ready: false, down: err.down, checks: err.checks, ...err.toBody() });
      }
      ctx.logger.warn({ err }, 'not ready');
      throw new TallyError('unavailable', 'MongoDB or Redis does not answer');
    }
  });

  // Open to anyone: the address limit holds a flood of it to paused refusals, like every /v1 route.
  app.get('/v1/stats', { onRequest: ctx.limits.byIp }, async () => ctx.stats());
}
