export { createLogger, REDACT_PATHS, URL_PATHS } from './logger.js';
export { redactUrl } from './redact.js';
export type { Logger, LoggerConfig } from './logger.js';
export { Shutdown } from './shutdown.js';
export type { ShutdownOptions, ShutdownStep } from './shutdown.js';
export { startEmbedded } from './embedded.js';
export type { Embedded, EmbeddedOptions } from './embedded.js';
export { readEndpoints, resolveEndpoints, ENDPOINTS_FILE } from './endpoints.js';
export type { Endpoints, EndpointsFile, EndpointSources } from './endpoints.js';
export { EmbeddedError } from './errors.js';
export type { EmbeddedErrorCode } from './errors.js';
export { freePort, listenerUrl } from './freePort.js';
export type { ServerName } from './serverProcess.js';
export { failpoint, failpointAsync, failpointTrips, onFailpoint } from './failpoints.js';
export {
  metricsRegistry,
  metricsText,
  serveMetrics,
  observeUsageBatch,
  registerScrapeSource,
  recordsReceived,
  recordsCharged,
  recordsDuplicate,
  deadLetters,
  redriven,
  batchRecords,
  batchApplySeconds,
  publishToChargedSeconds,
  tickRuns,
  apiViewReadSeconds,
} from './metrics.js';
export type { ScrapeSource } from './metrics.js';
export { readOrCreateAdminToken, ADMIN_TOKEN_FILE } from './adminToken.js';
