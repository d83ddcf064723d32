import { USAGE_STREAM, type Bus } from '../../../shared/bus/index.js';
import { recordsCharged } from '../../../shared/runtime/index.js';

/** One sample: seconds since the epoch, then records/s since the previous sample (null: unknown). */
export type RatePoint = [t: number, ingest: number | null, charged: number | null];

export interface RateSeries {
  interval_ms: number;
  /** The chart's window: it ends at `now` (seconds since the epoch, the sampler's clock) and spans `window_ms`. */
  window_ms: number;
  now: number;
  points: RatePoint[];
}

/**
 * The dashboard's rate chart, sampled in the API process every `intervalMs` for the last
 * `windowMs`. Ingest is JetStream's view (the usage stream's last sequence: every
 * producer, whichever process), charged is the records charged by shard owners in *this*
 * process (tally up runs them all here; a split deployment reads the charge rate from
 * Prometheus, which adds up every worker's counter).
 */
export class RateSampler {
  private readonly points: RatePoint[] = [];
  private timer: NodeJS.Timeout | null = null;
  private last: { at: number; seq: number | null; charged: number } | null = null;
  private sampling = false;

  constructor(
    private readonly bus: Bus,
    private readonly intervalMs = 2000,
    private readonly windowMs = 10 * 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): this {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  series(): RateSeries {
    return { interval_ms: this.intervalMs, window_ms: this.windowMs, now: Math.round(this.clock() / 1000), points: [...this.points] };
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const at = this.clock();
      // NATS away: the ingest point is a gap (null), not a zero that would read as "idle".
      const seq = await this.bus.jsm.streams.info(USAGE_STREAM).then(
        (i) => i.state.last_seq,
        () => null,
      );
      const charged = (await recordsCharged.get()).values[0]?.value ?? 0;
      const prev = this.last;
      this.last = { at, seq, charged };
      if (!prev) return;
      const dt = (at - prev.at) / 1000;
      if (dt <= 0) return;
      const ingest = seq !== null && prev.seq !== null ? Math.max(0, seq - prev.seq) / dt : null;
      this.points.push([Math.round(at / 1000), round(ingest), round(Math.max(0, charged - prev.charged) / dt)]);
      const oldest = at - this.windowMs;
      while (this.points.length > 0 && (this.points[0]?.[0] ?? 0) * 1000 < oldest) this.points.shift();
    } finally {
      this.sampling = false;
    }
  }
}

const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 10) / 10);
