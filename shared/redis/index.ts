/**
 * Redis keys of the product's own state outside BullMQ (leases, sessions, rate limits,
 * key revocations, the read model) and the tag rule the queues' prefixes follow too.
 */
export { redisGroup, redisKey } from './keys.js';
