/** Subjects and stream names: the wire contract of SPEC sections 3, 6 and 13. */
export const USAGE_STREAM = 'USAGE';
export const USAGE_SUBJECTS = 'usage.>';
export const DLQ_STREAM = 'USAGE_DLQ';
export const EVENTS_STREAM = 'BILLING_EVENTS';
export const BRIDGE_CONSUMER = 'tally-bridge';

export const usageSubject = (accountId: string): string => `usage.${accountId}`;
export const dlqSubject = (code: string): string => `dlq.usage.${code}`;
export const billingEventSubject = (accountId: string): string => `billing.events.${accountId}`;
/** Core-NATS subject on which shard owners tell a bridge that a job's effect is durable. */
export const batchDoneSubject = (bridgeId: string): string => `tally.done.${bridgeId}`;

/** Headers of a dead letter; the payload is the original bytes, untouched. */
export const DLQ_HEADERS = {
  code: 'Tally-Dlq-Code',
  message: 'Tally-Dlq-Message',
  subject: 'Tally-Dlq-Subject',
  streamSeq: 'Tally-Dlq-Stream-Seq',
  receivedAt: 'Tally-Dlq-Received-At',
} as const;
