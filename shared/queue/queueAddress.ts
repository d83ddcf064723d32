import { redisGroup } from '../redis/index.js';

/**
 * Where a BullMQ queue lives: BullMQ names every key of a queue `<prefix>:<name>:<suffix>`
 * and its scripts touch several at once, so the prefix carries the queue's own tag:
 * `tally:{<ns>:<name>}:<name>:wait`, ... (a queue name may not hold `:`).
 */
export interface QueueAddress {
  name: string;
  prefix: string;
}

export const queueAddress = (namespace: string, name: string): QueueAddress => ({ name, prefix: redisGroup(namespace, name) });
