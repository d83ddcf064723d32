import type { Command } from 'commander';
import type { Config } from '../../../shared/config/index.js';
import type { Endpoints } from '../../../shared/runtime/index.js';
import { redactUrl } from '../../../shared/runtime/redact.js';
import { cliContext, endpointsFor } from '../context.js';

// Each action loads what it runs (see services/cli/main.ts): the CLI starts in a blink.
const runtime = () => import('../../../shared/runtime/index.js');
const bridgeService = () => import('../../bridge/main.js');
const workerService = () => import('../../worker/main.js');

function allUrlsSet(e: { natsUrl?: string | undefined; redisUrl?: string | undefined; mongoUrl?: string | undefined }): boolean {
  return Boolean(e.natsUrl && e.redisUrl && e.mongoUrl);
}

/** The embedded default's own admin token (DATA_DIR/admin-token) when ADMIN_TOKEN is unset. */
export interface LocalToken {
  token: string;
  path: string;
  created: boolean;
}

/**
 * Where an operator goes next: a link that signs in, or the sign-in page. The link carries
 * the token, so it is printed only to a terminal (`terminal`): container logs, files and
 * pipes get the token file's path instead (SPEC 14).
 */
function dashboardLines(url: string, tokenFromEnv: boolean, local: LocalToken | null, terminal: boolean): string[] {
  const lines = [`  Metrics  ${url}/metrics   (Prometheus; health at /healthz, readiness at /readyz)`];
  const kept = local ? `admin token ${local.created ? 'created' : 'kept'} in ${local.path}` : '';
  if (local && terminal) {
    // The token rides in the fragment, which the browser never sends to a server or a log.
    lines.unshift(`  Operator ${url}/login#token=${local.token}`, `           (dashboard, opens signed in; bull-board at ${url}/admin/queues; ${kept})`);
  } else if (local) {
    lines.unshift(`  Operator ${url}/login   (dashboard: sign in with the ${kept}; bull-board at ${url}/admin/queues)`);
  } else if (tokenFromEnv) {
    lines.unshift(`  Operator ${url}/login   (dashboard: sign in with ADMIN_TOKEN; bull-board at ${url}/admin/queues)`);
  } else {
    lines.unshift(`  Operator ${url}/login   (dashboard: set ADMIN_TOKEN to enable sign-in)`);
  }
  return lines;
}

/**
 * What `tally up` prints once everything runs. Server URLs may carry credentials: never
 * printed (SPEC 10); the admin token only when `terminal` (stdout is a TTY). The embedded
 * NATS names the producers' seed file (the path, not the seed).
 */
export function upBanner(
  endpoints: Endpoints & { producerNkey?: string },
  config: Pick<Config, 'mongoDb' | 'dataDir' | 'adminToken'>,
  apiUrl: string,
  local: LocalToken | null,
  terminal: boolean,
): string {
  return [
    'tally is up',
    `  NATS     ${redactUrl(endpoints.natsUrl)}   (publish usage to usage.<account_id>${endpoints.producerNkey ? ` as the producer: --nkey ${endpoints.producerNkey}` : ''})`,
    `  Redis    ${redactUrl(endpoints.redisUrl)}`,
    `  MongoDB  ${redactUrl(endpoints.mongoUrl)}   (database ${config.mongoDb})`,
    `  data     ${config.dataDir}`,
    `  API      ${apiUrl}   (plans, VMs, payment webhook; admin: Bearer ADMIN_TOKEN)`,
    ...dashboardLines(apiUrl, config.adminToken !== undefined, local, terminal),
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

export function registerPipelineCommands(program: Command): void {
  program
    .command('up')
    .description('start everything: embedded servers (unless NATS_URL/REDIS_URL/MONGO_URL are set), bridge, worker, scheduler and API')
    .action(async () => {
      const { config, logger } = await cliContext('tally');
      const { Shutdown, readOrCreateAdminToken, startEmbedded } = await runtime();
      const [{ startWorker }, { startBridge }, { startApi }, { startScheduler }] = await Promise.all([
        workerService(),
        bridgeService(),
        import('../../api/index.js'),
        import('../../scheduler/index.js'),
      ]);
      const shutdown = new Shutdown({ logger }).listen();
      let endpoints: Endpoints & { producerNkey?: string };
      // The embedded default is a local install: with no ADMIN_TOKEN, one is made and kept in
      // DATA_DIR (mode 600), so the dashboard works out of the box and survives restarts.
      let localToken: LocalToken | null = null;
      if (allUrlsSet(config)) {
        endpoints = { natsUrl: config.natsUrl!, natsSecurity: config.natsSecurity, redisUrl: config.redisUrl!, mongoUrl: config.mongoUrl! };
      } else {
        if (!config.adminToken) localToken = await readOrCreateAdminToken(config.dataDir);
        const embedded = await startEmbedded({ dataDir: config.dataDir, logger: logger.child({ service: 'embedded' }) });
        shutdown.add('embedded servers', () => embedded.stop());
        endpoints = embedded;
      }
      const worker = await startWorker(config, endpoints, logger);
      shutdown.add('worker', () => worker.stop());
      const bridge = await startBridge(config, endpoints, logger);
      shutdown.add('bridge', () => bridge.stop());
      const scheduler = await startScheduler(config, endpoints, logger);
      shutdown.add('scheduler', () => scheduler.stop());
      const api = await startApi(localToken ? { ...config, adminToken: localToken.token } : config, endpoints, logger);
      shutdown.add('api', () => api.stop());
      process.stdout.write(upBanner(endpoints, config, api.url, localToken, process.stdout.isTTY === true));
    });

  program
    .command('aggregate')
    .description('drain what is in the usage stream now, apply it, print a report and exit')
    .requiredOption('--once', 'run once and exit (the only mode)')
    .option('--timeout <ms>', 'give up after this long', '600000')
    .action(async (opts: { timeout: string }) => {
      const { config, logger } = await cliContext('tally-aggregate');
      const [{ BRIDGE_CONSUMER, USAGE_STREAM, connectBus }, { startWorker }, { startBridge }] = await Promise.all([
        import('../../../shared/bus/index.js'),
        workerService(),
        bridgeService(),
      ]);
      const endpoints = await endpointsFor(config);
      const started = Date.now();
      const worker = await startWorker(config, endpoints, logger);
      const bridge = await startBridge(config, endpoints, logger);
      const bus = await connectBus(endpoints.natsUrl, 'tally-aggregate', endpoints.natsSecurity);
      const deadline = started + Number(opts.timeout);
      let drained = false;
      while (Date.now() < deadline) {
        const info = await bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER);
        if (info.num_pending === 0 && info.num_ack_pending === 0 && bridge.bridge.pending === 0) {
          drained = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await bridge.stop();
      await worker.stop();
      await bus.close();
      const c = bridge.bridge.counters;
      const w = worker.service.counters;
      const report = { drained, received: c.received, charged: w.charged, duplicates: w.duplicates, dead: c.dead, jobs: c.jobs, ms: Date.now() - started };
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exitCode = drained ? 0 : 1;
    });
}
