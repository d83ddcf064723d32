/** Below this many new keys only the interval makes a snapshot due: so short a tail is read fast. */
const MIN_NEW_KEYS = 65_536;
/** A snapshot is due once 1/NEW_SHARE of the horizon's keys are new since the last one. */
const NEW_SHARE = 16;

export interface SnapshotClock {
  now: number;
  /** When the last snapshot was taken (or the restored one was): -Infinity for none. */
  lastAt: number;
  intervalMs: number;
  /** Keys added to the horizon since then. */
  added: number;
  /** Keys the horizon holds. */
  size: number;
}

/**
 * Whether to snapshot the horizon now: once anything was added, every `intervalMs`, or
 * sooner once 1/16 of the horizon's keys (and at least 65,536) are new. A takeover reads
 * from the log only what came after the snapshot, so this bounds that tail.
 */
export function snapshotDue(c: SnapshotClock): boolean {
  if (c.added <= 0) return false;
  return c.now - c.lastAt >= c.intervalMs || c.added >= Math.max(MIN_NEW_KEYS, c.size / NEW_SHARE);
}
