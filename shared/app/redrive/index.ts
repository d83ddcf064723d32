/** Dead-letter re-drive (issue 20): select, validate again, send each record to be charged at most once. */
export { newRunId, redrive, reportJson } from './runner.js';
export type { RedriveConfig, RedriveDeps, RedriveRequest } from './runner.js';
export { parseDeadLetterFilter, requireSelection } from './filter.js';
export type { FilterInput } from './filter.js';
