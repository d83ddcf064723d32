import { readFileSync } from 'node:fs';

/** True when a process with this pid exists (EPERM: it exists but is not ours to signal). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The kernel's start time of `pid` (clock ticks since boot, field 22 of /proc/PID/stat), or
 * undefined off Linux. A pid plus its start time names one process, so a pid recycled
 * after a crash is not mistaken for the tally that wrote a pid file.
 */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The process's argv joined with spaces, or undefined when it cannot be read (gone, or not Linux). */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** The environment `pid` was started with (fixed at exec, unlike argv which Redis rewrites), or undefined. */
export function environOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and, where the platform tells us, started at `startTime`. */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  if (!isAlive(pid)) return false;
  const now = startTimeOf(pid);
  return startTime === undefined || now === undefined || now === startTime;
}
