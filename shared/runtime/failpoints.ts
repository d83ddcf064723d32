/**
 * Crash points for fault tests: `TALLY_FAILPOINTS=worker.after-log-append=3` makes the
 * process SIGKILL itself the third time it passes that point, exactly where a real crash
 * would hurt most. Unset (production), a failpoint is one map lookup.
 */
const armed = new Map<string, number>();
let armedOnce = false;

/**
 * Arms the failpoints of TALLY_FAILPOINTS (its config value, checked by the schema). Only
 * the first call counts: a command that loads its context twice must not reset a count.
 */
export function armFailpoints(spec: string | undefined): void {
  if (armedOnce) return;
  armedOnce = true;
  for (const point of (spec ?? '').split(',').filter(Boolean)) {
    const [name, count] = point.split('=');
    if (name) armed.set(name, Math.max(1, Number(count ?? 1) || 1));
  }
}

export function failpoint(name: string): void {
  const left = armed.get(name);
  if (left === undefined) return;
  if (left > 1) {
    armed.set(name, left - 1);
    return;
  }
  process.stderr.write(`failpoint ${name}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}

/**
 * A failpoint that plants a defect instead of a crash: true once, the N-th time the code
 * passes `name` (`TALLY_FAILPOINTS=worker.skip-dedup=N`), false every other time and
 * whenever it is not armed. The chaos run's checker must catch what it plants.
 */
export function failpointTrips(name: string): boolean {
  const left = armed.get(name);
  if (left === undefined) return false;
  if (left > 1) {
    armed.set(name, left - 1);
    return false;
  }
  armed.delete(name);
  process.stderr.write(`failpoint ${name}: tripped\n`);
  return true;
}

const hooks = new Map<string, () => Promise<void>>();

/**
 * For tests that run the services in their own process: `fn` runs (once) the next time
 * the code passes `name` through `failpointAsync`, and the code waits for it, so a test
 * can stop a server at exactly that moment.
 */
export function onFailpoint(name: string, fn: () => Promise<void>): void {
  hooks.set(name, fn);
}

/** A failpoint (crash point) that also waits for an in-process test's hook. */
export async function failpointAsync(name: string): Promise<void> {
  failpoint(name);
  if (hooks.size === 0) return;
  const hook = hooks.get(name);
  if (!hook) return;
  hooks.delete(name);
  await hook();
}
