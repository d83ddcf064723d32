import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';

export interface ReadOptions {
  /** Only messages on this subject filter. */
  filter?: string;
  /** Only messages on these subject filters (with `filter`, all of them). */
  filters?: string[];
  /** Headers and metadata only, no payloads (counting, selecting). */
  headersOnly?: boolean;
  /** Messages stored at or after this time. */
  since?: Date;
  /** Messages from this stream sequence on (ignored when `since` is set). */
  startSeq?: number;
  /** Stop at this sequence instead of the stream's last one (e.g. the last message of the filter). */
  lastSeq?: number;
}

/**
 * Every message a stream holds now, oldest first, through an ordered (ephemeral)
 * consumer. Stops at the last message that existed when it started.
 */
export async function* readStream(js: JetStreamClient, jsm: JetStreamManager, stream: string, options: ReadOptions = {}): AsyncGenerator<JsMsg> {
  const info = await jsm.streams.info(stream);
  const last = Math.min(options.lastSeq ?? info.state.last_seq, info.state.last_seq);
  if (info.state.messages === 0 || last < info.state.first_seq) return;
  const filters = [...(options.filter ? [options.filter] : []), ...(options.filters ?? [])];
  const consumer = await js.consumers.get(stream, {
    ...(filters.length > 0 ? { filter_subjects: filters } : {}),
    ...(options.headersOnly ? { headers_only: true } : {}),
    ...(options.since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: options.since.toISOString() }
      : options.startSeq !== undefined
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Math.max(options.startSeq, info.state.first_seq) }
        : {}),
  });
  let stalledSince: number | null = null;
  for (;;) {
    let got = 0;
    try {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      for await (const msg of batch) {
        got++;
        stalledSince = null;
        yield msg;
        if (msg.seq >= last) return;
      }
    } catch (err) {
      // A stream leader moving (a node killed, a cluster restart) answers the pull 503 "no
      // responders" or times it out. The ordered consumer resumes after the last message it
      // delivered, so the read goes on where it stopped once a leader answers again.
      stalledSince ??= Date.now();
      if (Date.now() - stalledSince > READ_RETRY_MS) throw err;
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    if (got === 0) return;
  }
}

/** How long a read keeps retrying a stream that stopped answering before it gives up. */
const READ_RETRY_MS = 30_000;
