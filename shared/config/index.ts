export { loadConfig, ConfigError } from './load.js';
export { envSchema } from './schema.js';
export type { Config, Env, LogFormat } from './schema.js';
