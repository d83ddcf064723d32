import type { Db } from 'mongodb';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { billingEventSubject } from '../../shared/bus/index.js';
import { failpointAsync } from '../../shared/runtime/index.js';
import { insertEvents, listUnpublishedEvents, markEventsPublished, type EventDoc } from '../../shared/store/index.js';
import type { OwnerOutbox } from './core/ports.js';

export interface EventOutboxDeps {
  shard: number;
  db: Db;
  js: JetStreamClient;
  logger: Logger;
  clock: () => number;
}

/**
 * A shard's crossing events on their way out (SPEC 9: at least once, even when NATS is
 * down at the crossing). An event is stored (`published: false`) before any projection
 * that passes its log entry is written, so an owner that dies first leaves the entry to
 * its successor's replay, which derives the same event again. Then it is published with
 * its id as `Nats-Msg-Id` and marked published. What fails stays here and is tried again
 * at the next flush; a new owner adopts what its predecessor stored but never marked.
 */
export class EventOutbox implements OwnerOutbox {
  private unstored: EventDoc[] = [];
  private readonly unpublished = new Map<string, EventDoc>();
  private publishing: Promise<void> | null = null;
  private again = false;
  /** Events this outbox inserted (the benchmark's documents-written figure). */
  stored = 0;

  constructor(private readonly deps: EventOutboxDeps) {}

  /** New events, from a log entry just applied or replayed. */
  add(events: readonly EventDoc[]): void {
    this.unstored.push(...events);
  }

  /** Events already stored but not known to be published (a takeover's sweep). */
  async adoptUnpublished(): Promise<void> {
    for (const e of await listUnpublishedEvents(this.deps.db, this.deps.shard)) this.unpublished.set(e._id, e);
  }

  /** Events not stored yet: the owner's projections must not be written past them. */
  get blocking(): boolean {
    return this.unstored.length > 0;
  }

  /** Stores what is new; on failure keeps it (and rejects), so the next flush tries again. */
  async store(): Promise<void> {
    if (this.unstored.length === 0) return;
    const batch = this.unstored.splice(0);
    try {
      this.stored += (await insertEvents(this.deps.db, batch)).length;
    } catch (err) {
      this.unstored.unshift(...batch);
      throw err;
    }
    for (const e of batch) this.unpublished.set(e._id, e);
  }

  /** Publishes what is stored, one run at a time; never rejects (what fails waits for the next call). */
  publish(): Promise<void> {
    if (this.publishing) {
      this.again = true;
      return this.publishing;
    }
    this.publishing = this.publishAll().finally(() => {
      this.publishing = null;
    });
    return this.publishing;
  }

  /** Store, then publish in the background: the commit path's part. Never rejects. */
  async deliver(): Promise<void> {
    try {
      await this.store();
    } catch (err) {
      this.deps.logger.warn({ err }, 'crossing events not stored; the next flush tries again');
      return;
    }
    void this.publish();
  }

  private async publishAll(): Promise<void> {
    do {
      this.again = false;
      const done: string[] = [];
      for (const e of [...this.unpublished.values()]) {
        try {
          await failpointAsync('worker.before-event-publish');
          const body = JSON.stringify({
            id: e._id,
            type: e.type,
            account_id: e.account_id,
            balance_micros: e.balance_micros.toString(),
            at: e.at.toISOString(),
          });
          await this.deps.js.publish(billingEventSubject(e.account_id), body, { msgID: e._id });
        } catch (err) {
          this.deps.logger.warn({ err, event: e._id }, 'crossing event not published; the next flush tries again');
          this.again = false;
          break;
        }
        this.unpublished.delete(e._id);
        done.push(e._id);
      }
      if (done.length > 0) {
        await markEventsPublished(this.deps.db, done, new Date(this.deps.clock())).catch((err) =>
          this.deps.logger.warn({ err }, 'published events not marked; a later owner publishes them again'),
        );
      }
    } while (this.again);
  }
}
