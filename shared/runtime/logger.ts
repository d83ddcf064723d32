import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
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
  /**
   * JSON lines, or one readable line per entry (pino-pretty) for a person at a terminal;
   * `auto` is `pretty` when the lines go to stderr and stderr is a terminal. A
   * `destination` always gets JSON. @defaultValue 'auto'
   */
  format?: 'auto' | 'json' | 'pretty';
}

/**
 * pino-pretty on stderr, synchronous like the JSON default: `[HH:MM:ss.mmm] LEVEL (name):
 * service: message {fields}` on one line, colours when stderr is a terminal. Loaded only when asked for, so a
 * service writing JSON never pays for it.
 */
function prettyStderr(): DestinationStream {
  const { build } = createRequire(import.meta.url)('pino-pretty') as { build(options: PrettyOptions): DestinationStream };
  return build({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    messageFormat: '{if service}{service}: {end}{msg}',
  });
}

function destinationFor(config: LoggerConfig): DestinationStream {
  if (config.destination) return config.destination as DestinationStream;
  const format = config.format ?? 'auto';
  if (format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true)) return prettyStderr();
  return pino.destination({ dest: 2, sync: true });
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
  return pino(options, destinationFor(config));
}

export type { Logger };
