export { KeyRing } from './ring.js';
export type { KeyIdentity } from './ring.js';
export { generateKey, hashKey, keyIdOf } from './format.js';
