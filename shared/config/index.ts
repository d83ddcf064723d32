export { loadConfig, ConfigError } from './load.js';
export { configKey, envSchema } from './schema.js';
export type { Config, LogFormat, NatsSecurityFiles } from './schema.js';
export { EngineUrlError, namesReplicaSet, parseNatsServers, parseRedisUrl } from './engineUrls.js';
export type { HostPort, NatsServers, RedisTarget } from './engineUrls.js';
