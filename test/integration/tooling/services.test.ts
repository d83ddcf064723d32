import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testConfig, useServers } from '../../support/pipeline.js';
import { childEnv, spawnTally, waitFor } from '../../support/processes.js';

/**
 * The four service commands start and stop one way (services/cli/commands/service.ts):
 * SIGTERM drains and exits 0, also when it arrives as the command logs its first line
 * (the api and the scheduler used to take their handler only once started). Found by this
 * test: the scheduler's stop waited for the tick in hand, which waits for shard owners,
 * so a SIGTERM with no worker up timed out and exited 1.
 */
describe('tally worker | bridge | api | scheduler under SIGTERM', () => {
  const env = useServers();

  it('each exits 0 on SIGTERM once started, and on SIGTERM at its first log line', async () => {
    const config = testConfig(env.servers);
    const logs = await mkdtemp(join(tmpdir(), 'tally-services-'));
    const extra = { HTTP_PORT: '0', LADDER_TICK_INTERVAL_MS: '3600000' };
    for (const kind of ['worker', 'bridge', 'api', 'scheduler'] as const) {
      const started = spawnTally([kind], childEnv(config, env.servers, extra), join(logs, `${kind}.log`));
      await started.ready();
      expect(started.output(), kind).toMatch(/started|listening/);
      expect(await started.stop(), `${kind} once started`).toEqual({ code: 0, signal: null });

      const starting = spawnTally([kind], childEnv(config, env.servers, extra), join(logs, `${kind}-early.log`));
      // Once the command has loaded and taken its handler (its first log line), before it serves.
      // No fixed cap: loading the modules alone took 8-11 s on a loaded machine, and a SIGTERM
      // before the handler exists is no test of it.
      await waitFor(() => /"level"/.test(starting.output()) || starting.child.exitCode !== null, 120_000, `${kind}'s first log line`, 10);
      starting.kill('SIGTERM');
      expect(await starting.exited, `${kind} at its first log line`).toEqual({ code: 0, signal: null });
    }
  }, 600_000);
});
