import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema, loadConfig } from '../../shared/config/index.js';
import { CHART, COMPOSE_DIR, checkCompose, checkK8s, clusterArgs, containerEnvNames, render, tallyServices, type K8sObject } from './tools.js';

// Every environment variable deploy/ sets for a tally container must be one the product
// reads: a key of envSchema (shared/config/schema.ts), the one list of them. A name the
// schema does not know would be silently ignored by the product; this test fails instead.
const KEYS = new Set(Object.keys(envSchema.shape));
const SERVER_URLS = ['NATS_URL', 'REDIS_URL', 'MONGO_URL'];
/**
 * What the operator puts in the Secret examples/production.yaml names (existingSecret), as
 * its comment says: the chart does not render it, so the test stands in for it.
 */
const PRODUCTION_SECRET: Record<string, string> = {
  NATS_URL: 'tls://tally:0123abcd@nats-0.nats-headless.nats.svc.cluster.local:4222,tls://tally:0123abcd@nats-1.nats-headless.nats.svc.cluster.local:4222',
  REDIS_URL:
    'redis+sentinel://:4567cdef@redis-node-0.redis-headless.redis.svc.cluster.local:26379,redis-node-1.redis-headless.redis.svc.cluster.local:26379/mymaster',
  REDIS_SENTINEL_PASSWORD: '4567cdef',
  MONGO_URL: 'mongodb://tally:89abcdef@mongodb-0.mongodb-headless.mongodb.svc.cluster.local:27017/tally?replicaSet=rs0',
  ADMIN_TOKEN: 'a'.repeat(48),
  WEBHOOK_SECRET: 'b'.repeat(48),
};

/** Each tally container's environment (names to values), by `source container`; `existing`: the keys of a Secret the chart only names. */
function chartEnvironments(args: readonly string[], existing: Record<string, string> = {}): Map<string, Record<string, string>> {
  const { items } = checkK8s(render(args));
  const byName = (kind: string, name: string) => items.find((o: K8sObject) => o.kind === kind && o.metadata.name === name);
  const out = new Map<string, Record<string, string>>();
  for (const [container, names] of containerEnvNames(items)) {
    const [deployment] = container.split('/');
    const d = byName('Deployment', deployment!)!;
    const c = d.spec.template.spec.containers[0] as {
      env?: { name: string; value?: string }[];
      envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
    };
    const env: Record<string, string> = {};
    for (const from of c.envFrom) {
      const source = from.configMapRef ? byName('ConfigMap', from.configMapRef.name) : byName('Secret', from.secretRef!.name);
      Object.assign(env, source ? { ...source.data, ...source.stringData } : from.secretRef ? existing : {});
    }
    for (const e of c.env ?? []) env[e.name] = e.value ?? '';
    expect(new Set(Object.keys(env))).toEqual(new Set([...names, ...(items.some((o) => o.kind === 'Secret') ? [] : Object.keys(existing))]));
    out.set(`helm ${args.map((a) => a.replace(`${CHART}/`, '')).join(' ') || '(defaults)'}: ${container}`, env);
  }
  return out;
}

function composeEnvironments(args: readonly string[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const [name, s] of tallyServices(checkCompose(args))) {
    const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']));
    out.set(`compose ${args.map((a) => a.replace(`${COMPOSE_DIR}/`, '')).join(' ')}: ${name}`, env);
  }
  return out;
}

const cluster = () =>
  new Map([
    ...chartEnvironments([]),
    ...chartEnvironments(['-f', `${CHART}/examples/production.yaml`], PRODUCTION_SECRET),
    ...composeEnvironments(clusterArgs()),
    ...composeEnvironments(clusterArgs('mongo.env')),
  ]);

describe('deploy/ sets only configuration keys the product reads', () => {
  it('every variable of every tally container (chart with and without options, existingSecret, all compose files) is a key of envSchema', () => {
    const all = new Map([
      ...cluster(),
      ...chartEnvironments(['--set', 'existingSecret=tally-secrets']),
      ...composeEnvironments([join(COMPOSE_DIR, 'compose.yaml')]),
    ]);
    expect(all.size).toBe(4 + 4 + 5 + 5 + 4 + 1);
    const unknown = new Map<string, string[]>();
    for (const [where, env] of all) {
      for (const name of Object.keys(env)) if (!KEYS.has(name)) unknown.set(name, [...(unknown.get(name) ?? []), where]);
    }
    const report = [...unknown].map(([name, where]) => `${name} (${where.length} containers, e.g. ${where[0]})`);
    expect(report, 'names that shared/config/schema.ts envSchema does not read').toEqual([]);
  });

  it('the cluster forms give every tally container NATS_URL, REDIS_URL and MONGO_URL', () => {
    for (const [where, env] of cluster()) {
      expect(
        SERVER_URLS.filter((k) => !env[k]),
        where,
      ).toEqual([]);
    }
  });

  it("the values the cluster forms set pass the product's own config validation", () => {
    const refused = new Map<string, string[]>();
    for (const [where, env] of cluster()) {
      try {
        loadConfig(env);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        refused.set(message, [...(refused.get(message) ?? []), where]);
      }
    }
    const report = [...refused].map(([message, where]) => `${message} (${where.length} containers, e.g. ${where[0]})`);
    expect(report, 'what loadConfig refuses in the environment deploy/ gives tally').toEqual([]);
  });
});
