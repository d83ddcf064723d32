import { randomUUID } from 'node:crypto';
import { BRIDGE_CONSUMER, USAGE_STREAM, connectBus, ensureStreams, streamOptions, type Bus } from '../../shared/bus/index.js';
import { loadConfig, type Config } from '../../shared/config/index.js';
import { connectMongo, type MongoConnection } from '../../shared/store/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import { startBridge } from '../../services/bridge/main.js';
import { startWorker, type WorkerOptions } from '../../services/worker/main.js';
import { afterAll, beforeAll } from 'vitest';
import { natsSecurityEnv } from './processes.js';
import { startTestServers, testLogger, type TestServers } from './servers.js';

export type Started<T extends (...args: never[]) => unknown> = Awaited<ReturnType<T>>;

/** A config for tests: the given servers, a fresh database, and overrides as env strings. */
export function testConfig(endpoints: Endpoints, env: Record<string, string> = {}): Config {
  return loadConfig({
    NATS_URL: endpoints.natsUrl,
    ...natsSecurityEnv(endpoints),
    REDIS_URL: endpoints.redisUrl,
    MONGO_URL: endpoints.mongoUrl,
    MONGO_DB: `t_${randomUUID().slice(0, 8)}`,
    SHARDS: '4',
    PROJECTION_FLUSH_MS: '1000',
    LOG_LEVEL: 'warn',
    ...env,
  });
}

/** A test's view of the servers: NATS client, the database, and a drain check. */
export interface Probe {
  bus: Bus;
  mongo: MongoConnection;
  /** Resolves when JetStream has nothing pending or un-acked for the bridges. */
  drained(timeoutMs?: number): Promise<void>;
  /** How far the bridges have acked the usage stream (a cheap progress probe: no store scan). */
  acked(): Promise<number>;
  close(): Promise<void>;
}

export async function probe(config: Config, endpoints: Endpoints): Promise<Probe> {
  const bus = await connectBus(endpoints.natsUrl, 'test-probe', endpoints.natsSecurity);
  const mongo = await connectMongo(endpoints.mongoUrl, config.mongoDb);
  await ensureStreams(bus.jsm, streamOptions(config));
  return {
    bus,
    mongo,
    async drained(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const info = await bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER);
        if (info.num_pending === 0 && info.num_ack_pending === 0) return;
        if (Date.now() > deadline) throw new Error(`not drained: pending ${info.num_pending}, un-acked ${info.num_ack_pending}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async acked() {
      return (await bus.jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER)).ack_floor.stream_seq;
    },
    async close() {
      await bus.close();
      await mongo.close();
    },
  };
}

/** Bridge and worker in this process, as `tally up` runs them. */
export async function startPipeline(config: Config, endpoints: Endpoints, workerOptions: WorkerOptions = {}) {
  const logger = testLogger();
  const worker = await startWorker(config, endpoints, logger, workerOptions);
  const bridge = await startBridge(config, endpoints, logger);
  return {
    worker,
    bridge,
    async stop() {
      await bridge.stop();
      await worker.stop();
    },
  };
}

/**
 * A describe block's own servers, started before its tests and stopped after them, with the
 * probe a test opens on them (closed after too). Read `servers` inside the tests.
 */
export function useServers(): { readonly servers: TestServers; probe(config: Config): Promise<Probe> } {
  let servers: TestServers | undefined;
  let opened: Probe | undefined;
  beforeAll(async () => {
    servers = await startTestServers();
  });
  afterAll(async () => {
    await opened?.close();
    await servers?.stop();
  });
  return {
    get servers(): TestServers {
      if (!servers) throw new Error('useServers: the servers start in beforeAll');
      return servers;
    },
    async probe(config: Config): Promise<Probe> {
      opened = await probe(config, this.servers);
      return opened;
    },
  };
}
