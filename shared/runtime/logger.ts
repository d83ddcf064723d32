import { pino, type Logger, type LoggerOptions } from 'pino';

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
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: config.name ? { name: config.name } : {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // Synchronous by default: a process that exits right after a line (shutdown, a fatal
  // config error) must not lose it.
  return pino(options, (config.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
