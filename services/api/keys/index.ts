export { KeyRing } from './ring.js';
export type { KeyIdentity, ProducerIdentity } from './ring.js';
export { generateKey, hashKey, keyIdOf } from './format.js';
