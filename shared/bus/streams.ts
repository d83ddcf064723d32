import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { BRIDGE_CONSUMER, DLQ_STREAM, EVENTS_STREAM, USAGE_STREAM, USAGE_SUBJECTS } from './subjects.js';

const DAY_MS = 86_400_000;

/**
 * How much each stream may hold on disk (SPEC 10: nothing unbounded), from the config
 * (USAGE_MAX_BYTES, DLQ_MAX_BYTES, EVENTS_MAX_BYTES), which holds their defaults.
 */
export interface StreamLimits {
  /**
   * USAGE refuses new messages once full (discard New): the producer gets a publish error
   * and retries later, so a record JetStream accepted is never dropped to make room.
   */
  usageMaxBytes: number;
  /** USAGE_DLQ drops its oldest dead letters once full (discard Old): the bridge never blocks on it. */
  dlqMaxBytes: number;
  /** BILLING_EVENTS drops its oldest events once full: the events collection keeps every one. */
  eventsMaxBytes: number;
}

export interface StreamOptions extends StreamLimits {
  /** JetStream's own Nats-Msg-Id window; the product's 24 h dedup covers the rest. @defaultValue 120000 */
  duplicateWindowMs?: number;
  /** How long usage stays replayable/exportable. @defaultValue 7 days */
  usageMaxAgeMs?: number;
  /** Dead letters are kept longer, for operators to inspect. @defaultValue 30 days */
  dlqMaxAgeMs?: number;
  /** How long a message may be held un-acked before redelivery. @defaultValue 60000 */
  ackWaitMs?: number;
  /** Upper bound of un-acked messages the bridges may hold together. @defaultValue 200000 */
  maxAckPending?: number;
  /** Copies of every stream in a JetStream cluster (NATS_STREAM_REPLICAS). @defaultValue 1 */
  replicas?: number;
}

function streamConfigs(o: Required<StreamOptions>): (Partial<StreamConfig> & { name: string })[] {
  const common = { storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, num_replicas: o.replicas };
  return [
    {
      ...common,
      name: USAGE_STREAM,
      subjects: [USAGE_SUBJECTS],
      duplicate_window: nanos(o.duplicateWindowMs),
      max_age: nanos(o.usageMaxAgeMs),
      max_msg_size: 64 * 1024,
      max_bytes: o.usageMaxBytes,
      discard: DiscardPolicy.New,
    },
    {
      ...common,
      name: DLQ_STREAM,
      subjects: ['dlq.usage.>'],
      duplicate_window: nanos(o.duplicateWindowMs),
      max_age: nanos(o.dlqMaxAgeMs),
      max_bytes: o.dlqMaxBytes,
    },
    {
      ...common,
      name: EVENTS_STREAM,
      subjects: ['billing.events.>'],
      duplicate_window: nanos(o.duplicateWindowMs),
      max_age: nanos(o.dlqMaxAgeMs),
      max_bytes: o.eventsMaxBytes,
    },
  ];
}

/** The stream options a configuration asks for. */
export function streamOptions(config: {
  natsAckWaitMs: number;
  natsDuplicateWindowMs: number;
  usageMaxBytes: number;
  dlqMaxBytes: number;
  eventsMaxBytes: number;
  natsStreamReplicas: number;
}): StreamOptions {
  const { usageMaxBytes, dlqMaxBytes, eventsMaxBytes } = config;
  return {
    ackWaitMs: config.natsAckWaitMs,
    duplicateWindowMs: config.natsDuplicateWindowMs,
    usageMaxBytes,
    dlqMaxBytes,
    eventsMaxBytes,
    replicas: config.natsStreamReplicas,
  };
}

const DEFAULTS: Omit<Required<StreamOptions>, keyof StreamLimits> = {
  duplicateWindowMs: 120_000,
  usageMaxAgeMs: 7 * DAY_MS,
  dlqMaxAgeMs: 30 * DAY_MS,
  ackWaitMs: 60_000,
  maxAckPending: 200_000,
  replicas: 1,
};

/**
 * Creates or updates the streams and the bridges' durable pull consumer. Safe to run from
 * every process at every start: `add` of an identical config is a no-op, a changed one
 * is applied with `update`, a new replica count included (a JetStream cluster moves the
 * stream to more or fewer peers; a single server refuses more than one replica).
 */
export async function ensureStreams(jsm: JetStreamManager, options: StreamOptions): Promise<void> {
  const o = { ...DEFAULTS, ...options };
  for (const config of streamConfigs(o)) {
    const name = config.name;
    const existing = await jsm.streams.info(name).catch(() => null);
    try {
      if (existing) await jsm.streams.update(name, config);
      else await jsm.streams.add(config);
    } catch (err) {
      // JetStream reserves each stream's max_bytes up front, against its max_file_store
      // (by default 75% of the free disk): say which setting to lower.
      if (err instanceof Error && /insufficient storage/i.test(err.message)) {
        throw new Error(
          `JetStream cannot reserve ${config.max_bytes} bytes for stream ${name}: lower USAGE_MAX_BYTES, DLQ_MAX_BYTES or EVENTS_MAX_BYTES, or give nats-server more storage (${err.message})`,
          { cause: err },
        );
      }
      const had = existing?.config.num_replicas;
      if (err instanceof Error && (/replica|peer|cluster/i.test(err.message) || (had !== undefined && had !== o.replicas))) {
        const change = had !== undefined && had !== o.replicas ? `from ${had} to ${o.replicas} replicas` : `with ${o.replicas} replicas`;
        throw new Error(
          `JetStream refused stream ${name} ${change} (NATS_STREAM_REPLICAS=${o.replicas}; it needs a cluster of at least that many JetStream servers): ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
  }
  const consumer = {
    durable_name: BRIDGE_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(o.ackWaitMs),
    max_ack_pending: o.maxAckPending,
    max_deliver: -1,
  };
  const existing = await jsm.consumers.info(USAGE_STREAM, BRIDGE_CONSUMER).catch(() => null);
  if (existing) await jsm.consumers.update(USAGE_STREAM, BRIDGE_CONSUMER, consumer);
  else await jsm.consumers.add(USAGE_STREAM, consumer);
}
