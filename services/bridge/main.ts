import type { Logger } from 'pino';
import type { Config } from '../../shared/config/index.js';
import { connectBus, ensureStreams, streamOptions } from '../../shared/bus/index.js';
import type { Endpoints } from '../../shared/runtime/index.js';
import { redisAuth } from '../../shared/queue/index.js';
import { Bridge } from './bridge.js';

/** Composition root of a bridge process. */
export async function startBridge(config: Config, endpoints: Endpoints, logger: Logger): Promise<{ bridge: Bridge; stop(): Promise<void> }> {
  const log = logger.child({ service: 'bridge' });
  const bus = await connectBus(endpoints.natsUrl, 'tally-bridge', endpoints.natsSecurity);
  await ensureStreams(bus.jsm, streamOptions(config));
  const bridge = new Bridge(config, { bus, redisUrl: endpoints.redisUrl, redisOptions: redisAuth(config), logger: log });
  await bridge.start();
  log.info({ id: bridge.id }, 'bridge started');
  return {
    bridge,
    stop: async () => {
      await bridge.stop();
      await bus.close();
    },
  };
}
