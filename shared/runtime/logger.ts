import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactUrl } from './redact.js';

/** Paths pino blanks out wherever they appear in a log object: secrets are never logged (SPEC 12). */
export const REDACT_PATHS: readonly string[] = [
  'adminToken',
  'webhookSecret',
  'key',
  'password',
  'authorization',
  'cookie',
  '*.adminToken',
  '*.webhookSecret',
  '*.key',
  '*.password',
  '*.authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-tally-signature"]',
  'config.adminToken',
  'config.webhookSecret',
];

/** Fields that hold server URLs: logged with any `user:pass@` masked (redactUrl), the rest kept. */
const URL_FIELDS = new Set(['url', 'uri', 'natsUrl', 'redisUrl', 'mongoUrl']);
export const URL_PATHS: readonly string[] = [...URL_FIELDS].flatMap((field) => [field, `*.${field}`]);

const censor = (value: unknown, path: string[]): unknown =>
  URL_FIELDS.has(path.at(-1) ?? '') ? (typeof value === 'string' ? redactUrl(value) : value) : '[redacted]';

export interface LoggerConfig {
  /** @defaultValue 'info' */
  level?: string;
  /** Service name, the `name` field of every line. */
  name?: string;
  /** Where lines go; defaults to stderr so that commands can keep stdout for their data (NDJSON, JSON). */
  destination?: NodeJS.WritableStream;
}

/** The process logger. Services take a child of it: `logger.child({ service: 'worker' })`. */
export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    redact: { paths: [...REDACT_PATHS, ...URL_PATHS], censor },
    base: config.name ? { name: config.name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // Synchronous by default: a process that exits right after a line (shutdown, a fatal
  // config error) must not lose it.
  return pino(options, (config.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
