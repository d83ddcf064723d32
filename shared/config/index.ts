export { loadConfig, ConfigError } from './load.js';
export { configKey, envSchema } from './schema.js';
export type { Config, NatsSecurityFiles } from './schema.js';
export { EngineUrlError, namesReplicaSet, parseNatsServers, parseRedisUrl } from './engineUrls.js';
export type { RedisTarget } from './engineUrls.js';
