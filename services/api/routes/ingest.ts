import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import { TallyError, splitJsonArray, splitNdjson, validateRecord, type ErrorCode, type PriceBook } from '../../../shared/domain/index.js';
import { AckedPublisher, usageMsgId, usageSubject, type AckedMessage } from '../../../shared/bus/index.js';
import { authenticate, presentsBearer } from '../auth.js';
import type { ApiContext } from '../context.js';

/** SPEC 13 "HTTP ingest": at most this many bytes a request (413 beyond) and records a request (400 beyond). */
export const INGEST_BODY_LIMIT_BYTES = 1024 * 1024;
export const INGEST_MAX_RECORDS = 1000;

const NDJSON = 'application/x-ndjson';
const ARRAYS = ['application/json', 'application/cloudevents-batch+json'];
/** How long a client should wait after a 503 before sending the same request again. */
const RETRY_AFTER_S = 2;

export interface IngestConfig {
  priceBook: PriceBook;
  lateArrivalDays: number;
  /** INGEST_PUBLISH_TIMEOUT_MS: how long a request waits for every JetStream ack. */
  publishTimeoutMs: number;
}

interface Rejected {
  index: number;
  code: ErrorCode;
  message: string;
}

/** The records of a body, each as its own bytes (shared/domain/recordBatch.ts says why nothing is re-serialised). */
function recordsOf(request: FastifyRequest): Uint8Array[] {
  const body = request.body;
  if (!(body instanceof Buffer) || body.length === 0) throw new TallyError('invalid_request', 'body: no records (a JSON array, NDJSON or a CloudEvents batch)');
  const ndjson = (request.headers['content-type'] ?? '').toLowerCase().startsWith(NDJSON);
  const records = ndjson ? splitNdjson(body) : splitJsonArray(body);
  if (records === null) throw new TallyError('invalid_request', 'body: not a JSON array of records');
  if (records.length === 0) throw new TallyError('invalid_request', 'body: no records');
  if (records.length > INGEST_MAX_RECORDS) throw new TallyError('invalid_request', `body: ${records.length} records, at most ${INGEST_MAX_RECORDS} a request`);
  return records;
}

/**
 * `POST /v1/usage` (SPEC 13 "HTTP ingest", decision 011): records over HTTP with the bus's
 * guarantees. Each record is validated by the bridge's own rules (`validateRecord`) and the
 * valid ones are published, as the producer's exact bytes, to `usage.<account_id>` with
 * `Nats-Msg-Id: <account_id>/<id>`; the answer waits for every JetStream ack. A record that
 * breaks a rule is answered in `rejected` with its dead-letter code, never dead-lettered; a
 * record an account key posts for another account is `forbidden`. NATS not acking every
 * record (within INGEST_PUBLISH_TIMEOUT_MS, or refusing one) is 503 with retry-after: what
 * was acked already is a duplicate on the retry, never a second charge.
 */
export function ingestRoutes(app: FastifyInstance, ctx: ApiContext, nc: NatsConnection, config: IngestConfig): void {
  const publisher = new AckedPublisher(nc, config.publishTimeoutMs);
  app.addHook('onClose', async () => publisher.close());
  void app.register(async (scope) => {
    // The bodies stay bytes here: the records are cut out of them, never parsed and written back.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser([...ARRAYS, NDJSON], { parseAs: 'buffer', bodyLimit: INGEST_BODY_LIMIT_BYTES }, (_request, body, done) => done(null, body));

    scope.post('/v1/usage', { bodyLimit: INGEST_BODY_LIMIT_BYTES }, async (request, reply) => {
      const caller = await ctx.limits.signIn(request, reply, presentsBearer(request), () => authenticate(request, ctx.credentials, ctx.keys));
      await ctx.limits.byIngestKey(request, reply, caller.kind === 'admin' ? 'admin' : caller.keyId);
      const records = recordsOf(request);
      const validation = { now: ctx.clock(), lateArrivalDays: config.lateArrivalDays, priceBook: config.priceBook };
      const rejected: Rejected[] = [];
      const messages: AckedMessage[] = [];
      for (const [index, payload] of records.entries()) {
        const checked = validateRecord({ subject: null, payload }, validation);
        if (!checked.ok) {
          rejected.push({ index, code: checked.code, message: checked.message });
          continue;
        }
        const { accountId, id } = checked.record;
        if (caller.kind === 'key' && caller.accountId !== accountId) {
          rejected.push({ index, code: 'forbidden', message: `an account key posts usage for its own account only, not ${accountId}` });
          continue;
        }
        messages.push({ subject: usageSubject(accountId), payload, msgId: usageMsgId(accountId, id) });
      }
      let outcome;
      try {
        outcome = await publisher.publishAll(messages);
      } catch (err) {
        return unavailable(request, reply, err);
      }
      if (outcome.refused.length > 0)
        return unavailable(request, reply, new Error(`JetStream refused ${outcome.refused.length} record(s): ${outcome.refused[0]!.reason}`));
      return { accepted: outcome.stored, duplicates: outcome.duplicates, rejected };
    });
  });
}

function unavailable(request: FastifyRequest, reply: FastifyReply, reason: unknown): never {
  request.log.warn({ err: reason }, 'JetStream did not ack every record; the client retries the request');
  reply.header('retry-after', RETRY_AFTER_S);
  throw new TallyError('unavailable', 'NATS JetStream did not acknowledge every record; send the same request again (what was stored is then a duplicate)');
}
