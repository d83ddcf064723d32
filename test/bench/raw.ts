/**
 * The raw ceiling: what JetStream and Node give before tally does any work. The same
 * records go to a scratch stream (published with `tally replay`'s engine), then one JS
 * pull consumer fetches them in batches of 2000 (the bridge's fetch size), JSON.parses
 * each payload and acks it. Nothing else: no validation, no queue, no store.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { Bus } from '../../shared/bus/index.js';
import { runReplay } from '../../services/cli/load/replay.js';
import type { RecordedLine } from '../support/stream.js';
import { ROOT, recordedBatches } from './harness.js';

const STREAM = 'BENCH_RAW';

export interface RawCeiling {
  records: number;
  /** `tally replay` publishing to JetStream with its window of pending acks. */
  publish_per_s: number;
  /** Pull consume + JSON.parse + ack. */
  consume_per_s: number;
}

export async function rawCeiling(bus: Bus, lines: readonly RecordedLine[]): Promise<RawCeiling> {
  await bus.jsm.streams.add({ name: STREAM, subjects: ['bench.raw.>'], storage: StorageType.File, retention: RetentionPolicy.Limits });
  try {
    const published = await runReplay({ nc: bus.nc, lines: recordedBatches(lines, (s) => `bench.raw.${s.slice('usage.'.length)}`), window: 4000 });
    if (published.errors > 0) throw new Error(`raw ceiling: ${published.errors} publishes failed (${published.first_error})`);
    await bus.jsm.consumers.add(STREAM, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 200_000 });
    const consumer = await bus.js.consumers.get(STREAM, 'raw');
    const started = performance.now();
    let got = 0;
    let parsedIds = 0;
    while (got < published.acked) {
      // Never ask for more than is left: a short last batch would wait out `expires`.
      const batch = await consumer.fetch({ max_messages: Math.min(2000, published.acked - got), expires: 1000 });
      for await (const m of batch) {
        // Touch the result, so the parse cannot be optimized away.
        if ((JSON.parse(m.string()) as { id?: unknown }).id !== undefined) parsedIds++;
        m.ack();
        got++;
      }
    }
    await bus.nc.flush();
    const seconds = (performance.now() - started) / 1000;
    if (parsedIds === 0 && got > 0) throw new Error('raw ceiling: no payload parsed to a record');
    return { records: got, publish_per_s: published.rate, consume_per_s: Math.round(got / seconds) };
  } finally {
    await bus.jsm.streams.delete(STREAM);
  }
}

/**
 * A reference figure from the official NATS CLI (`nats bench js pub async` then `fetch`, 200-byte
 * messages, one client, as the services' identity: it manages a stream), in messages/s; null when the CLI is not built or its output changed.
 */
export async function natsCliReference(natsUrl: string, nkeySeedFile: string, msgs: number): Promise<{ pub_per_s: number; fetch_per_s: number } | null> {
  const nats = join(ROOT, '.tools/bin/nats');
  const run = promisify(execFile);
  const rate = (out: string): number | null => {
    const m = /stats: ([\d,]+) msgs\/sec/.exec(out);
    return m ? Number(m[1]!.replaceAll(',', '')) : null;
  };
  try {
    const common = ['--server', natsUrl, '--nkey', nkeySeedFile, 'bench', 'js'];
    const pub = await run(
      nats,
      [
        ...common,
        'pub',
        'async',
        'bench.ref',
        '--stream',
        'BENCH_REF',
        '--create',
        '--purge',
        '--msgs',
        String(msgs),
        '--size',
        '200B',
        '--no-progress',
        '--batch',
        '500',
      ],
      { maxBuffer: 1 << 24 },
    );
    const fetch = await run(nats, [...common, 'fetch', '--stream', 'BENCH_REF', '--msgs', String(msgs), '--batch', '2000', '--no-progress'], {
      maxBuffer: 1 << 24,
    });
    const p = rate(pub.stdout + pub.stderr);
    const f = rate(fetch.stdout + fetch.stderr);
    return p === null || f === null ? null : { pub_per_s: p, fetch_per_s: f };
  } catch {
    return null;
  } finally {
    await run(nats, ['--server', natsUrl, '--nkey', nkeySeedFile, 'stream', 'rm', 'BENCH_REF', '-f']).catch(() => undefined);
  }
}
