import type { FastifyInstance } from 'fastify';
import { countDeadLetters, pageDeadLetters, type Bus } from '../../../shared/bus/index.js';
import { parseDeadLetterFilter, redrive, reportJson, requireSelection, type FilterInput, type RedriveConfig } from '../../../shared/app/redrive/index.js';
import { listRedriveRuns } from '../../../shared/store/index.js';
import type { ApiContext } from '../context.js';
import { deadLetterCountsQuery, deadLettersQuery, parseInput, redriveBody, ticksQuery } from '../schemas.js';

function filterInput(q: { code?: string[]; since?: string; until?: string; account?: string }): FilterInput {
  return {
    ...(q.code ? { codes: q.code } : {}),
    ...(q.since ? { since: q.since } : {}),
    ...(q.until ? { until: q.until } : {}),
    ...(q.account ? { account: q.account } : {}),
  };
}

/**
 * Dead letters for operators (issue 20), behind the operator guard (admin token or session):
 * browse (cursor-paged), counts by code and day, re-drive with a preview, the runs' audit.
 */
export function deadLetterRoutes(scope: FastifyInstance, ctx: ApiContext, bus: Bus, config: RedriveConfig): void {
  scope.get('/v1/admin/dead-letters', async (request) => {
    const q = parseInput(deadLettersQuery, request.query, 'query');
    const filter = parseDeadLetterFilter(filterInput(q));
    return pageDeadLetters(bus, filter, { limit: q.limit ?? 50, ...(q.after !== undefined ? { after: Number(q.after) } : {}) });
  });

  scope.get('/v1/admin/dead-letters/counts', async (request) => {
    const q = parseInput(deadLetterCountsQuery, request.query, 'query');
    return countDeadLetters(bus, parseDeadLetterFilter(filterInput(q)));
  });

  scope.post('/v1/admin/dead-letters/redrive', async (request) => {
    const body = parseInput(redriveBody, request.body ?? {}, 'body');
    requireSelection(filterInput(body), body.all === true);
    const filter = parseDeadLetterFilter(filterInput(body));
    const report = await redrive(
      config,
      {
        bus,
        db: ctx.db,
        queues: ctx.queues,
        logger: ctx.logger,
        clock: ctx.clock,
        firstPaidAt: async (id) => (await ctx.accounts.account(id))?.first_paid_at?.getTime() ?? null,
      },
      { filter, dryRun: body.dry_run === true, by: 'admin', ...(body.limit !== undefined ? { limit: body.limit } : {}) },
    );
    return reportJson(report);
  });

  scope.get('/v1/admin/dead-letters/runs', async (request) => {
    const q = parseInput(ticksQuery, request.query, 'query');
    return { runs: (await listRedriveRuns(ctx.db, q.limit ?? 50)).map(({ _id, ...run }) => ({ run_id: _id, ...run })) };
  });
}
