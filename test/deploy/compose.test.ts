import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPOSE_DIR, check, checkCompose, clusterArgs, composeSecrets, tallyServices, type ComposeResult } from './tools.js';

// The compose files through compose-go (the loader of Docker Compose), validation and
// consistency checks on, profiles applied as `docker compose` applies them.
const ALL_IN_ONE = join(COMPOSE_DIR, 'compose.yaml');
const CLUSTER = join(COMPOSE_DIR, 'compose.cluster.yaml');
const ENGINES = ['nats-1', 'nats-2', 'nats-3', 'redis-primary', 'redis-replica', 'redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3'];
const TALLY = ['api-1', 'api-2', 'bridge', 'scheduler', 'worker'];

function expectHealthyEverywhere(result: ComposeResult): void {
  for (const [name, s] of Object.entries(result.project.services)) {
    expect(s.healthcheck?.test?.length, `${name} has a healthcheck`).toBeGreaterThan(0);
    for (const [dep, cfg] of Object.entries(s.depends_on ?? {})) {
      // mongo-1 waits for its peers to start only: it initiates the replica set they join.
      if (name === 'mongo-1') continue;
      expect(cfg.condition, `${name} -> ${dep}`).toBe('service_healthy');
    }
  }
}

describe('deploy/compose', () => {
  it('compose.yaml: one tally container running `tally up`, its data in a volume', () => {
    const result = checkCompose([ALL_IN_ONE]);
    expect(result.services).toEqual(['tally']);
    const tally = result.project.services.tally!;
    expect(tally.command).toEqual(['up']);
    expect(tally.image).toMatch(/^tally:/);
    expect(tally.environment?.DATA_DIR).toBe('/data');
    expect(tally.healthcheck?.test?.join(' ')).toContain('/healthz');
  });

  it('compose.cluster.yaml, default (.env: profile ferretdb): NATS x3, Redis + replica + 3 sentinels, FerretDB on PostgreSQL, the tally roles', () => {
    const result = checkCompose(clusterArgs());
    expect(result.profiles).toEqual(['ferretdb']);
    expect(result.services).toEqual([...ENGINES, 'ferretdb', 'postgres', ...TALLY].sort());
    expect(result.disabledServices).toEqual(['mongo-1', 'mongo-2', 'mongo-3']);
    expectHealthyEverywhere(result);
    const tally = Object.fromEntries(tallyServices(result));
    expect(Object.keys(tally).sort()).toEqual(TALLY);
    const count = (name: string) => tally[name]!.deploy?.replicas ?? 1;
    expect({ bridges: count('bridge'), workers: count('worker'), apis: count('api-1') + count('api-2'), schedulers: count('scheduler') }).toEqual({
      bridges: 2,
      workers: 2,
      apis: 2,
      schedulers: 1,
    });
    for (const [name, s] of Object.entries(tally)) {
      expect(s.command, name).toEqual([name.replace(/-\d$/, '')]);
      expect(s.environment?.NATS_STREAM_REPLICAS, name).toBe('3');
      expect(s.environment?.MONGO_URL, name).toBe('mongodb://ferretdb:27017/');
      expect(Object.keys(s.depends_on ?? {}).sort(), name).toEqual([...ENGINES.filter((e) => /nats|sentinel/.test(e)), 'ferretdb'].sort());
    }
  });

  it('compose.cluster.yaml with mongo.env: a three-member replica set instead, and MONGO_URL names it', () => {
    const result = checkCompose(clusterArgs('mongo.env'));
    expect(result.profiles).toEqual(['mongo']);
    expect(result.services).toEqual([...ENGINES, 'mongo-1', 'mongo-2', 'mongo-3', ...TALLY].sort());
    expectHealthyEverywhere(result);
    for (const [name, s] of tallyServices(result)) {
      expect(s.environment?.MONGO_URL, name).toBe('mongodb://mongo-1:27017,mongo-2:27017,mongo-3:27017/?replicaSet=rs0');
      expect(s.depends_on?.['mongo-1']?.condition, name).toBe('service_healthy');
    }
  });

  it('compose.cluster.yaml with --profile mongo (and no profile at all) loads too', () => {
    const secrets = ['--env-file', composeSecrets()];
    expect(checkCompose(['--profile', 'mongo', ...secrets, CLUSTER]).services).toContain('mongo-3');
    expect(checkCompose(['--profile', 'ferretdb', '--profile', 'mongo', ...secrets, CLUSTER]).services).toEqual(
      expect.arrayContaining(['ferretdb', 'mongo-1']),
    );
  });

  it('the checker fails on what Docker Compose would refuse: an unknown key, a healthy-wait on a service without healthcheck', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-compose-'));
    const unknownKey = join(dir, 'unknown.yaml');
    writeFileSync(unknownKey, 'services:\n  a:\n    image: alpine\n    restartt: always\n');
    const r1 = check(['compose', unknownKey]);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toContain('restartt');
    const noHealth = join(dir, 'nohealth.yaml');
    writeFileSync(noHealth, 'services:\n  a:\n    image: alpine\n    depends_on:\n      b: { condition: service_healthy }\n  b:\n    image: alpine\n');
    const r2 = check(['compose', noHealth]);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('service "a" waits for "b" to be healthy, which has no healthcheck');
  });
});
