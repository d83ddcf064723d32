import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ALL_DEAD_LETTER_CODES } from '../domain/index.js';
import { listenerUrl } from './freePort.js';

/**
 * The product's Prometheus metrics: one registry, created once per process, never the
 * prom-client global one (so a library registering its own metrics cannot leak into
 * /metrics). Services that share a process (`tally up`) share these objects, which is
 * how one /metrics shows the bridge's, the worker's and the API's numbers together.
 *
 * Counters move where the work happens (bridge, shard worker, tick runner). Gauges that
 * describe shared state (consumer lag, queue depths, low balances) are read at scrape
 * time from a ScrapeSource the API registers, so they are right whichever process holds
 * the work.
 */
export const metricsRegistry = new Registry();

collectDefaultMetrics({ register: metricsRegistry, prefix: 'tally_' });

export const recordsReceived = new Counter({
  name: 'tally_records_received_total',
  help: 'Usage messages pulled from JetStream by the bridges of this process (redeliveries included).',
  registers: [metricsRegistry],
});

export const recordsCharged = new Counter({
  name: 'tally_records_charged_total',
  help: 'Records charged: their id entered a shard log entry for the first time within the dedup horizon.',
  registers: [metricsRegistry],
});

export const recordsDuplicate = new Counter({
  name: 'tally_records_duplicate_total',
  help: 'Records whose id was already charged within the dedup horizon; charged nothing.',
  registers: [metricsRegistry],
});

export const deadLetters = new Counter({
  name: 'tally_dead_letters_total',
  help: 'Records dead-lettered by the bridges of this process, by error code (SPEC 3).',
  labelNames: ['code'] as const,
  registers: [metricsRegistry],
});
// Every code present from the start: rate() over a series that appears mid-window misses its first increase.
for (const code of ALL_DEAD_LETTER_CODES) deadLetters.inc({ code }, 0);

export const redriven = new Counter({
  name: 'tally_redriven_total',
  help: 'Dead letters re-driven by this process, by their dead-letter code and outcome (charged, duplicate, still_dead).',
  labelNames: ['code', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const batchRecords = new Histogram({
  name: 'tally_batch_records',
  help: 'Records per usage batch applied by a shard owner.',
  buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
  registers: [metricsRegistry],
});

export const batchApplySeconds = new Histogram({
  name: 'tally_batch_apply_seconds',
  help: 'Time a shard owner takes to apply one usage batch (price, shard log insert, events).',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const publishToChargedSeconds = new Histogram({
  name: 'tally_publish_to_charged_seconds',
  help: 'From the JetStream publish of a record to the commit of the shard log entry that applied it.',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [metricsRegistry],
});

export const tickRuns = new Counter({
  name: 'tally_ladder_tick_runs_total',
  help: 'Ladder tick runs, by where they ran from and whether every shard answered.',
  labelNames: ['source', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const apiViewReadSeconds = new Histogram({
  name: 'tally_api_view_read_seconds',
  help: "Store reads behind the API's cached views (stats, ledger pages): each scans the shard log, at most one per freshness period.",
  labelNames: ['view'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});

/** Shared state read at scrape time; each read may fail on its own (its `_up` gauge says so). */
export interface ScrapeSource {
  /** The bridges' durable consumer: messages not yet delivered, and delivered but not acked. */
  consumerLag(): Promise<{ pending: number; ackPending: number }>;
  /** Job counts per queue and state. */
  queueDepths(): Promise<{ queue: string; counts: Record<string, number> }[]>;
  /** Accounts whose balance is below LOW_BALANCE_MICROS, and all accounts. */
  accountBalances(): Promise<{ belowThreshold: number; total: number }>;
}

const sources: ScrapeSource[] = [];

/** Registers the source the scrape-time gauges read (the latest registered wins); returns its removal. */
export function registerScrapeSource(source: ScrapeSource): () => void {
  sources.push(source);
  return () => {
    const i = sources.indexOf(source);
    if (i >= 0) sources.splice(i, 1);
  };
}

const currentSource = (): ScrapeSource | undefined => sources[sources.length - 1];

const sourceUp = new Gauge({
  name: 'tally_scrape_source_up',
  help: 'Whether the last scrape-time read of a source succeeded (1) or failed (0).',
  labelNames: ['source'] as const,
  registers: [metricsRegistry],
});

/**
 * A gauge read at scrape time from the registered source: reset, then set by `set` from
 * what `fn` read; a failed read leaves it without values and marks the source down.
 */
function scrapedGauge<T, L extends string = never>(
  o: { name: string; help: string; labelNames?: readonly L[]; source: string; read: (s: ScrapeSource) => Promise<T> },
  set: (gauge: Gauge<L>, value: T) => void,
): void {
  new Gauge<L>({
    name: o.name,
    help: o.help,
    labelNames: o.labelNames ?? [],
    registers: [metricsRegistry],
    async collect() {
      this.reset();
      const source = currentSource();
      if (!source) return;
      try {
        set(this, await o.read(source));
        sourceUp.set({ source: o.source }, 1);
      } catch {
        sourceUp.set({ source: o.source }, 0);
      }
    },
  });
}

scrapedGauge(
  {
    name: 'tally_consumer_pending_messages',
    help: 'JetStream messages of the usage stream not yet delivered to a bridge (consumer lag).',
    source: 'jetstream',
    read: (s) => s.consumerLag(),
  },
  (g, lag) => g.set(lag.pending),
);

scrapedGauge(
  {
    name: 'tally_consumer_ack_pending_messages',
    help: 'JetStream messages delivered to a bridge and not yet acknowledged (in flight).',
    source: 'jetstream',
    read: (s) => s.consumerLag(),
  },
  (g, lag) => g.set(lag.ackPending),
);

scrapedGauge(
  {
    name: 'tally_queue_jobs',
    help: 'BullMQ jobs per queue and state (waiting, active, delayed, prioritized, completed, failed).',
    labelNames: ['queue', 'state'] as const,
    source: 'redis',
    read: (s) => s.queueDepths(),
  },
  (g, queues) => {
    for (const { queue, counts } of queues) for (const [state, n] of Object.entries(counts)) g.set({ queue, state }, n);
  },
);

scrapedGauge(
  {
    name: 'tally_accounts_below_low_balance',
    help: 'Accounts whose balance is below LOW_BALANCE_MICROS (read from the store, cached for a few seconds).',
    source: 'store',
    read: (s) => s.accountBalances(),
  },
  (g, b) => g.set(b.belowThreshold),
);

scrapedGauge(
  {
    name: 'tally_accounts',
    help: 'Accounts with a projection in the store (cached for a few seconds).',
    source: 'store',
    read: (s) => s.accountBalances(),
  },
  (g, b) => g.set(b.total),
);

/**
 * One applied usage batch: what the owner charged, how long it took, and for every
 * record the time since JetStream stored it (the last field of the wire tuple).
 */
export function observeUsageBatch(
  publishedAt: readonly number[],
  result: { charged: number; duplicates: number },
  startedMs: number,
  nowMs = Date.now(),
): void {
  recordsCharged.inc(result.charged);
  recordsDuplicate.inc(result.duplicates);
  batchRecords.observe(publishedAt.length);
  batchApplySeconds.observe((nowMs - startedMs) / 1000);
  for (const at of publishedAt) publishToChargedSeconds.observe(Math.max(0, nowMs - at) / 1000);
}

/** The exposition text and its content type, for whichever server answers /metrics. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}

/** What the bare listener answers besides /metrics: the probes a container orchestrator calls. */
const PROBE_BODIES: Readonly<Record<string, string>> = {
  '/healthz': '{"status":"ok"}',
  '/readyz': '{"status":"ready"}',
};

/**
 * A bare /metrics listener for processes without the API (`tally worker`, `tally bridge`,
 * `tally scheduler` with METRICS_PORT): their counters and process metrics, no scrape-time
 * gauges (those are the API's, which reads the shared state once for everyone). It also
 * answers /healthz and /readyz, so a Kubernetes probe or a compose healthcheck has a URL
 * on every role: the listener opens once the service has started (connected to its
 * servers), so both mean "the process runs its service"; the API's own /readyz is the one
 * that checks each dependency.
 */
export async function serveMetrics(port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split('?')[0] ?? '';
    const probe = PROBE_BODIES[path];
    if (req.method === 'GET' && probe !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(probe);
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"only GET /metrics, /healthz and /readyz here"}}');
      return;
    }
    metricsText().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"internal","message":"metrics collection failed"}}'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `${listenerUrl(host, bound)}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
