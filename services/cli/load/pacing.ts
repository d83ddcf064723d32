/**
 * How `tally replay` paces itself. Both pacers are pure: the caller passes the current
 * time and sleeps for the returned number of milliseconds, so tests drive them with a
 * fake clock.
 */

/**
 * A token bucket: `rate` tokens a second, holding at most `burst` (default a tenth of a
 * second's worth), so the long-run rate is exact while short sleeps are coalesced
 * (sleeping once per record would cap the rate at timer resolution).
 */
export class TokenBucket {
  private tokens: number;
  private last: number | null = null;
  private readonly burst: number;

  constructor(
    private readonly rate: number,
    burst?: number,
  ) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError('rate must be a positive number');
    this.burst = Math.max(1, burst ?? rate / 10);
    this.tokens = this.burst;
  }

  /** Takes one token if there is one (returns 0); otherwise how long to wait before asking again. */
  take(now: number): number {
    if (this.last !== null) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }
}

/**
 * Replays a stream `speed` times faster than it happened, following occurred_at. The
 * replay clock tracks the latest occurred_at seen: a record ahead of it waits for the gap
 * (divided by speed), while a late record (older than one already sent) goes at once,
 * as it did when it arrived late in the first place.
 */
export class SpeedPacer {
  private origin: { event: number; wall: number } | null = null;
  private latest = -Infinity;

  constructor(private readonly speed: number) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError('speed must be a positive number');
  }

  /** Milliseconds to wait before sending a record that occurred at `occurredAt`. */
  delay(occurredAt: number, now: number): number {
    if (this.origin === null) {
      this.origin = { event: occurredAt, wall: now };
      this.latest = occurredAt;
      return 0;
    }
    if (occurredAt <= this.latest) return 0;
    this.latest = occurredAt;
    const due = this.origin.wall + (occurredAt - this.origin.event) / this.speed;
    return Math.max(0, Math.ceil(due - now));
  }
}
