import { connectBus } from '../../shared/bus/index.js';
import { runReplay } from '../../services/cli/load/replay.js';
import { StreamGenerator } from '../../services/cli/load/generate.js';
const bus = await connectBus('nats://127.0.0.1:14299', 'pb');
const lines = [...new StreamGenerator({ records: 20000, accounts: 1000, seed: 1, now: Date.now() }).lines()].map((l) => JSON.stringify(l));
async function* g() { yield* lines; }
for (const window of [2000, 4000, 2000, 4000]) {
  await bus.jsm.streams.purge('T');
  const r = await runReplay({ js: bus.js, lines: g(), window });
  console.log('replay window', window, r.rate, r.seconds);
}
await bus.close();
