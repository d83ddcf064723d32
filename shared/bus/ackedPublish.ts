import { createInbox, MsgHdrsImpl, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { SERVICES_INBOX_PREFIX } from './connect.js';

/**
 * One message for JetStream: its subject, its exact bytes, its `Nats-Msg-Id` (the ingest
 * path always has one; `tally replay --no-msg-id` has none) and, rarely, other headers
 * (a recorded stream's own): a message with only an id takes the one reused MsgIdHeader.
 */
export interface AckedMessage {
  subject: string;
  payload: Uint8Array;
  msgId?: string;
  /** Headers besides `Nats-Msg-Id`, sent as given; the publisher sets `msgId` into them. */
  headers?: MsgHdrs;
}

/** What JetStream answered for a batch: every message has an answer. */
export interface AckedOutcome {
  /** Messages stored (PubAck without `duplicate`). */
  stored: number;
  /** Messages JetStream already held under their `Nats-Msg-Id` (PubAck with `duplicate: true`). */
  duplicates: number;
  /** Messages refused, by their index in the batch: a PubAck error (a full stream) or no stream for the subject. */
  refused: { index: number; reason: string }[];
}

/** Not every message of a batch was answered in time (NATS away, a stream leader lost): what was stored is unknown. */
export class PublishTimeoutError extends Error {
  readonly code = 'publish_timeout';
  constructor(
    readonly missing: number,
    timeoutMs: number,
    /** The answers that did come before the batch gave up (what a counting caller such as `tally replay` reports). */
    readonly answered: AckedOutcome = { stored: 0, duplicates: 0, refused: [] },
  ) {
    super(`JetStream answered ${missing} message(s) of the batch not within ${timeoutMs} ms`);
    this.name = 'PublishTimeoutError';
  }
}

const WAITING = 0;
const STORED = 1;
const DUPLICATE = 2;
const REFUSED = 3;

interface Batch {
  state: Uint8Array;
  reasons: Map<number, string>;
  missing: number;
  resolve: (outcome: AckedOutcome) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const DECODER = new TextDecoder();
const ENCODER = new TextEncoder();
/** What a `Nats-Msg-Id` may hold here: printable ASCII, no space (no CR or LF can break the header block). */
const MSG_ID = /^[!-~]{1,256}$/;
const MSG_ID_HEADER = 'Nats-Msg-Id';

/**
 * The one header a message carries, encoded straight from its value. `MsgHdrs.set` looks
 * the key up, re-validates key and value and rebuilds a map on every call: 8% of the API's
 * CPU in the HTTP ingest bench; `MSG_ID` is the value's whole check here.
 */
class MsgIdHeader extends MsgHdrsImpl {
  id = '';
  override encode(): Uint8Array {
    return ENCODER.encode(`NATS/1.0\r\nNats-Msg-Id: ${this.id}\r\n\r\n`);
  }
}

/**
 * JetStream publishes with their acks counted, for a batch at a time (`POST /v1/usage`,
 * `tally replay`).
 * `js.publish` is a request: an inbox token, a promise and a timer for every message, which
 * at a thousand messages a request was most of the API's CPU (decision 011, "Measured").
 * Here every message is a core-NATS publish whose reply subject is `<inbox>.<batch>.<index>`
 * on one long-lived wildcard subscription; a PubAck is matched to its message by that
 * subject, the batch has one timer, and one header object is reused (the client encodes
 * the headers inside `publish`, so the next id cannot reach a message already written).
 * A stored message's PubAck is told without JSON.parse (`pubAck`).
 *
 * The guarantees are `js.publish`'s: the promise resolves once JetStream answered every
 * message (stored, duplicate by `Nats-Msg-Id`, or refused), and rejects with
 * `PublishTimeoutError` (with the answers that did come) when one is missing after `timeoutMs`: the caller then
 * cannot know what was stored and sends the same messages again, which `Nats-Msg-Id`
 * makes safe. An answer arriving after its batch gave up is dropped. The connection is
 * `connectBus`'s: the replies come on the services' private inbox prefix (SPEC 14).
 */
export class AckedPublisher {
  private readonly inbox: string;
  private readonly sub: Subscription;
  private readonly batches = new Map<number, Batch>();
  private readonly hdrs = new MsgIdHeader();
  private nextBatch = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.inbox = createInbox(SERVICES_INBOX_PREFIX);
    this.sub = nc.subscribe(`${this.inbox}.*.*`, { callback: (err, msg) => (err ? this.failAll(err) : this.answer(msg)) });
  }

  publishAll(messages: readonly AckedMessage[]): Promise<AckedOutcome> {
    if (messages.length === 0) return Promise.resolve({ stored: 0, duplicates: 0, refused: [] });
    const id = this.nextBatch++;
    return new Promise<AckedOutcome>((resolve, reject) => {
      const batch: Batch = {
        state: new Uint8Array(messages.length),
        reasons: new Map(),
        missing: messages.length,
        resolve,
        reject,
        timer: setTimeout(() => this.timeOut(id), this.timeoutMs),
      };
      this.batches.set(id, batch);
      const replyPrefix = `${this.inbox}.${id}.`;
      try {
        for (let i = 0; i < messages.length; i++) {
          const m = messages[i]!;
          if (m.msgId !== undefined && !MSG_ID.test(m.msgId)) {
            this.refuse(batch, i, 'Nats-Msg-Id must be 1..256 printable ASCII characters, no space');
            batch.missing--;
            continue;
          }
          if (m.headers !== undefined) {
            if (m.msgId !== undefined) m.headers.set(MSG_ID_HEADER, m.msgId);
            this.nc.publish(m.subject, m.payload, { headers: m.headers, reply: replyPrefix + i });
          } else if (m.msgId !== undefined) {
            this.hdrs.id = m.msgId;
            this.nc.publish(m.subject, m.payload, { headers: this.hdrs, reply: replyPrefix + i });
          } else {
            this.nc.publish(m.subject, m.payload, { reply: replyPrefix + i });
          }
        }
        // Answers come on later socket reads, never inside this loop: only local refusals can have settled it.
        if (batch.missing === 0) this.settle(id, batch);
      } catch (err) {
        // Closed, draining, or a message over the server's max_payload: the batch gives up as a whole.
        this.giveUp(id, err as Error);
      }
    });
  }

  /** Stops listening; a batch still waiting is rejected. */
  close(): void {
    if (!this.sub.isClosed()) this.sub.unsubscribe();
    this.failAll(new Error('publisher closed'));
  }

  private answer(msg: Msg): void {
    const rest = msg.subject.slice(this.inbox.length + 1);
    const dot = rest.indexOf('.');
    const id = Number(rest.slice(0, dot));
    const batch = this.batches.get(id);
    const index = Number(rest.slice(dot + 1));
    if (batch === undefined || batch.state[index] !== WAITING) return;
    const verdict = pubAck(msg);
    if (typeof verdict === 'string') this.refuse(batch, index, verdict);
    else batch.state[index] = verdict ? DUPLICATE : STORED;
    if (--batch.missing === 0) this.settle(id, batch);
  }

  private refuse(batch: Batch, index: number, reason: string): void {
    batch.state[index] = REFUSED;
    batch.reasons.set(index, reason);
  }

  private settle(id: number, batch: Batch): void {
    clearTimeout(batch.timer);
    this.batches.delete(id);
    batch.resolve(outcomeOf(batch, false));
  }

  private timeOut(id: number): void {
    const batch = this.batches.get(id);
    if (batch !== undefined) this.giveUp(id, new PublishTimeoutError(batch.missing, this.timeoutMs, outcomeOf(batch, true)));
  }

  private giveUp(id: number, err: Error): void {
    const batch = this.batches.get(id);
    if (batch === undefined) return;
    clearTimeout(batch.timer);
    this.batches.delete(id);
    batch.reject(err);
  }

  private failAll(err: Error): void {
    for (const id of [...this.batches.keys()]) this.giveUp(id, err);
  }
}

/** The batch's answers so far; `answeredOnly` leaves out the messages still waiting (a timed-out batch). */
function outcomeOf(batch: Batch, answeredOnly: boolean): AckedOutcome {
  const outcome: AckedOutcome = { stored: 0, duplicates: 0, refused: [] };
  for (let i = 0; i < batch.state.length; i++) {
    const s = batch.state[i];
    if (s === STORED) outcome.stored++;
    else if (s === DUPLICATE) outcome.duplicates++;
    else if (s === REFUSED || !answeredOnly) outcome.refused.push({ index: i, reason: batch.reasons.get(i) ?? 'no answer' });
  }
  return outcome;
}

const STORED_ACK = '{"stream":';

/**
 * A PubAck's `duplicate` flag, or why the message was refused (a JetStream error, or a 503
 * status: no stream takes the subject). The server writes `error` first when there is one,
 * so an ack that opens with `{"stream":` and names neither an error nor a duplicate is a
 * stored message, told without JSON.parse; anything else is parsed (the server writes a
 * duplicate's flag by hand, as `"duplicate": true`, so no byte pattern is trusted for it).
 */
function pubAck(msg: Msg): boolean | string {
  if (msg.headers?.hasError) return `${msg.headers.code} ${msg.headers.description || 'no stream takes the subject'}`.trim();
  const data = msg.data;
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  if (text.startsWith(STORED_ACK) && !text.includes('"error"') && !text.includes('"duplicate"')) return false;
  let ack: { error?: { code?: number; description?: string }; duplicate?: boolean; stream?: string };
  try {
    ack = JSON.parse(DECODER.decode(data)) as typeof ack;
  } catch {
    return 'PubAck is not JSON';
  }
  if (ack.error) return `${ack.error.code ?? ''} ${ack.error.description ?? 'JetStream error'}`.trim();
  if (!ack.stream) return 'PubAck names no stream';
  return ack.duplicate === true;
}
