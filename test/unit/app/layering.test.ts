import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Which of the project's folders each layer may import, besides its own (npm packages are
 * not checked). The adapters (store, bus, queue) know nothing of one another; they may use
 * the config (engine URLs, settings types) and the queues the Redis key rule of shared/redis.
 * What combines adapters is shared/app (or shared/readModel, the read model over the store),
 * called by the services.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  'shared/domain': [],
  'shared/bus': ['shared/domain', 'shared/config'],
  'shared/queue': ['shared/domain', 'shared/config', 'shared/redis'],
  'shared/store': ['shared/domain', 'shared/config'],
  'shared/config': ['shared/domain'],
  'shared/runtime': ['shared/domain', 'shared/config'],
  'shared/redis': [],
  'shared/readModel': ['shared/domain', 'shared/store', 'shared/redis'],
  'shared/app': ['shared/domain', 'shared/bus', 'shared/queue', 'shared/store', 'shared/readModel', 'shared/runtime'],
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The project folders (`shared/<name>`, `services/<name>`, `test`) a file imports from, type-only imports included. */
function importedFolders(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) =>
    relative(ROOT, resolve(join(ROOT, dirname(file)), s))
      .split('/')
      .slice(0, 2)
      .join('/')
      .replace(/^test\/.*/, 'test'),
  );
}

/** Every module a file imports, type-only and dynamic imports included: project files as paths from ROOT, packages by name. */
function importsOf(file: string): { files: string[]; packages: string[] } {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|^import\s+)'([^']+)'/gm)].map((m) => m[1]!);
  const files = specifiers.filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(join(ROOT, dirname(file)), s)).replace(/\.js$/, '.ts'));
  return { files, packages: specifiers.filter((s) => !s.startsWith('.')) };
}

/** The shard owner's exactly-once core (docs/architecture.md): decisions only, the caller does the I/O. */
const CORE = 'services/worker/core';

describe('layering', () => {
  it.each(Object.entries(MAY_IMPORT))('%s imports only what lies below it', (layer, allowed) => {
    const wrong = sources(layer).flatMap((file) =>
      importedFolders(file)
        .filter((folder) => folder !== layer && !allowed.includes(folder))
        .map((folder) => `${file} -> ${folder}`),
    );
    expect(wrong).toEqual([]);
  });

  it("the product's code takes the store from its public entry, never from store/internal", () => {
    const users = [...sources('services'), ...sources('shared')].filter(
      (file) => !file.startsWith('shared/store/') && /store\/internal\.js'/.test(readFileSync(join(ROOT, file), 'utf8')),
    );
    expect(users).toEqual([]);
  });

  it(`${CORE} imports only itself and the domain, and nothing it reaches does I/O`, () => {
    const wrong: string[] = [];
    const seen = new Set<string>();
    const pending = sources(CORE);
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const { files, packages } = importsOf(file);
      for (const f of files) {
        if (file.startsWith(`${CORE}/`) && !f.startsWith(`${CORE}/`) && !f.startsWith('shared/domain/')) wrong.push(`${file} -> ${f}`);
        pending.push(f);
      }
      // Not one package: no driver, client or server (mongodb, ioredis, bullmq, nats, pino), no node:fs or node:net.
      for (const p of packages) wrong.push(`${file} -> ${p}`);
    }
    expect(wrong).toEqual([]);
    expect([...seen].filter((f) => f.startsWith(`${CORE}/`)).length).toBeGreaterThan(5);
  });

  it('knows every folder of shared/', () => {
    const folders = readdirSync(join(ROOT, 'shared'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `shared/${e.name}`);
    expect(folders.sort()).toEqual(Object.keys(MAY_IMPORT).sort());
  });
});
