export { loadConfig, ConfigError } from './load.js';
export { envSchema } from './schema.js';
export type { Config, Env, LogFormat, NatsSecurityFiles } from './schema.js';
export { EngineUrlError, namesReplicaSet, parseNatsServers, parseRedisUrl } from './engineUrls.js';
export type { HostPort, NatsServers, RedisTarget } from './engineUrls.js';
