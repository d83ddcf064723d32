import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The folder of the hand-written page scripts: next to this file when run from source
 * (tsx), or the source folder when run from dist/ (tsc copies no .js/.css assets).
 */
function assetsDir(): string {
  const candidates = [join(here, 'assets'), join(here, '..', '..', '..', '..', 'services', 'api', 'operator', 'assets')];
  const found = candidates.find((dir) => existsSync(join(dir, 'dashboard.js')));
  if (!found) throw new Error(`operator assets not found in ${candidates.join(' or ')}`);
  return found;
}

/**
 * Every file the operator pages load, read once at start (a few tens of KiB). uPlot comes
 * from node_modules as published: no bundler, no copy to keep in sync.
 */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const dir = assetsDir();
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  const files: [string, string, string][] = [
    ['dashboard.js', join(dir, 'dashboard.js'), js],
    ['adjust.js', join(dir, 'adjust.js'), js],
    ['login.js', join(dir, 'login.js'), js],
    ['usageChart.js', join(dir, 'usageChart.js'), js],
    ['dashboard.css', join(dir, 'dashboard.css'), css],
    ['uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), js],
    ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), css],
  ];
  return new Map(files.map(([name, path, type]) => [name, { type, body: readFileSync(path) }]));
}
