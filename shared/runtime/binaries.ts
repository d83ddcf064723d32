import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedError } from './errors.js';

export type ServerBinary = 'nats-server' | 'redis-server' | 'tally-ferretdb';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The repo's `.tools/bin`, found by walking up from this module: the same code runs from
 * `shared/runtime` (tsx, vitest) and from `dist/shared/runtime` (the built CLI).
 */
function toolsBinDirs(): string[] {
  const dirs: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    dirs.push(join(dir, '.tools', 'bin'));
    const parent = dirname(dir);
    if (parent === dir) return dirs;
    dir = parent;
  }
}

/**
 * Where to run `name` from: `binDir` when given, else the repo's `.tools/bin` (what
 * `npm run build` installs), else `PATH` (where Debian puts redis-server).
 */
export function findBinary(name: ServerBinary, binDir?: string): string {
  const dirs = [...(binDir ? [binDir] : []), ...toolsBinDirs(), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  const candidates = dirs.map((d) => join(d, name));
  const found = candidates.find(executable);
  if (found) return found;
  const hint = name === 'redis-server' ? 'install redis-server (apt-get install redis-server)' : 'run `npm run build` (scripts/build-servers.sh)';
  throw new EmbeddedError(
    'binary_missing',
    `${name} not found in ${binDir ? `${binDir}, ` : ''}.tools/bin or PATH: ${hint}, or set NATS_URL, REDIS_URL and MONGO_URL`,
  );
}
