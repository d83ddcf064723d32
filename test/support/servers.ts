import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startEmbedded, type Endpoints, type ServerName } from '../../shared/runtime/index.js';

export interface TestServersOptions {
  /** @defaultValue a pino logger at TEST_LOG_LEVEL (default 'warn') on stderr */
  logger?: Logger;
  binDir?: string;
  /** Keep the temporary folder (server logs, data) after stop. @defaultValue true when TALLY_KEEP_TEST_DATA is set */
  keepData?: boolean;
}

/** A private set of nats-server, redis-server and FerretDB for tests; see startEmbedded. */
export interface TestServers extends Endpoints {
  /** The temporary data folder; server logs are in `logs/`. */
  dataDir: string;
  /** Seed files of the services' and the producers' NATS users (natsSecurity names the services'). */
  serviceNkey: string;
  producerNkey: string;
  /** Stops every server and removes the folder. */
  stop(): Promise<void>;
  /** Sends a signal to one server (default SIGKILL); resolves once a terminating signal has taken effect. */
  kill(name: ServerName, signal?: NodeJS.Signals): Promise<void>;
  /** Restarts one server on the same port; `wipe` starts it with empty data (Redis losing every queue). */
  restart(name: ServerName, options?: { wipe?: boolean }): Promise<void>;
}

export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn', base: { name: 'test-servers' } }, pino.destination(2));
}

/**
 * Starts servers under a fresh folder in the OS temp dir, on free ports, so tests never
 * touch the machine's own NATS (4222) or Redis (6379). Tests sharing one set isolate by
 * unique database, stream and queue names.
 */
export async function startTestServers(options: TestServersOptions = {}): Promise<TestServers> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tally-test-'));
  const keepData = options.keepData ?? Boolean(process.env.TALLY_KEEP_TEST_DATA);
  let embedded;
  try {
    embedded = await startEmbedded({
      dataDir,
      logger: options.logger ?? testLogger(),
      ...(options.binDir ? { binDir: options.binDir } : {}),
    });
  } catch (err) {
    if (!keepData) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { natsUrl, natsSecurity, redisUrl, mongoUrl, serviceNkey, producerNkey } = embedded;
  return {
    natsUrl,
    natsSecurity,
    serviceNkey,
    producerNkey,
    redisUrl,
    mongoUrl,
    dataDir,
    async stop() {
      await embedded.stop();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
    kill: (name, signal) => embedded.kill(name, signal),
    restart: (name, restartOptions) => embedded.restart(name, restartOptions),
  };
}
