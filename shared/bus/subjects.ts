/** Subjects and stream names: the wire contract of SPEC sections 3, 6 and 13. */
export const USAGE_STREAM = 'USAGE';
export const USAGE_SUBJECTS = 'usage.>';
export const DLQ_STREAM = 'USAGE_DLQ';
export const EVENTS_STREAM = 'BILLING_EVENTS';
export const BRIDGE_CONSUMER = 'tally-bridge';

export const usageSubject = (accountId: string): string => `usage.${accountId}`;
/**
 * The `Nats-Msg-Id` of a usage record (SPEC 3): `<account_id>/<id>`. JetStream's duplicate
 * window is keyed by this header across the whole stream, so a bare id would make the same
 * id on two accounts one message; `/` is in neither id's alphabet, so the pair is unambiguous.
 */
export const usageMsgId = (accountId: string, id: string): string => `${accountId}/${id}`;
export const dlqSubject = (code: string): string => `dlq.usage.${code}`;
export const billingEventSubject = (accountId: string): string => `billing.events.${accountId}`;
/** Core-NATS subject on which shard owners tell a bridge that a job's effect is durable. */
export const batchDoneSubject = (bridgeId: string): string => `tally.done.${bridgeId}`;
/** Core-NATS subject on which the owner of a shard takes fold requests (services only: SPEC 14 keeps producers off `tally.>`). */
export const foldSubject = (shard: number): string => `tally.fold.${shard}`;
/** The queue group of fold subscriptions: during a handover two owners may listen a moment, and one of them answers. */
export const FOLD_QUEUE = 'tally-fold';

/** Headers of a dead letter; the payload is the original bytes, untouched. */
export const DLQ_HEADERS = {
  code: 'Tally-Dlq-Code',
  message: 'Tally-Dlq-Message',
  subject: 'Tally-Dlq-Subject',
  streamSeq: 'Tally-Dlq-Stream-Seq',
  receivedAt: 'Tally-Dlq-Received-At',
} as const;
