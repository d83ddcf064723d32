import { headers } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { DLQ_HEADERS, dlqSubject } from './subjects.js';

export interface DeadLetter {
  code: string;
  message: string;
  subject: string;
  payload: Uint8Array;
  /** USAGE stream sequence: makes the dead letter's Nats-Msg-Id, so a redelivered bad record is stored once. */
  streamSeq: number;
  receivedAt: number;
}

/** Stores a bad record in the dead-letter stream; resolves once JetStream has it. */
export async function publishDeadLetter(js: JetStreamClient, dl: DeadLetter): Promise<void> {
  const h = headers();
  h.set(DLQ_HEADERS.code, dl.code);
  h.set(DLQ_HEADERS.message, dl.message.slice(0, 512));
  h.set(DLQ_HEADERS.subject, dl.subject);
  h.set(DLQ_HEADERS.streamSeq, String(dl.streamSeq));
  h.set(DLQ_HEADERS.receivedAt, new Date(dl.receivedAt).toISOString());
  await js.publish(dlqSubject(dl.code), dl.payload, { headers: h, msgID: `dlq:${dl.streamSeq}` });
}
