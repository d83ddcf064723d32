export { connectBus, natsConnectOptions, NatsSecurityError, SERVICES_INBOX_PREFIX } from './connect.js';
export type { Bus } from './connect.js';
export { ensureStreams, streamOptions } from './streams.js';
export type { StreamLimits, StreamOptions } from './streams.js';
export { publishDeadLetter } from './deadLetter.js';
export type { DeadLetter } from './deadLetter.js';
export { DEAD_LETTER_SCAN_WINDOW, deadLetterAt, deadLetterCounts, deadLetterView, latestDeadLetters } from './deadLetterViews.js';
export type { DeadLetterView } from './deadLetterViews.js';
export { countDeadLetters, pageDeadLetters, scanDeadLetters, selectDeadLetterChunks } from './deadLetterQuery.js';
export type { DeadLetterCounts, DeadLetterFilter, DeadLetterPage, SelectedDeadLetter } from './deadLetterQuery.js';
export {
  USAGE_STREAM,
  USAGE_SUBJECTS,
  DLQ_STREAM,
  EVENTS_STREAM,
  BRIDGE_CONSUMER,
  DLQ_HEADERS,
  usageSubject,
  usageMsgId,
  dlqSubject,
  billingEventSubject,
  batchDoneSubject,
  foldSubject,
  FOLD_QUEUE,
} from './subjects.js';
export { readStream } from './readStream.js';
export { AckedPublisher, PublishTimeoutError } from './ackedPublish.js';
export type { AckedMessage, AckedOutcome } from './ackedPublish.js';
export type { ReadOptions } from './readStream.js';
