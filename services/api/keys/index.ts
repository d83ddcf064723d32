export { KeyRing } from './ring.js';
export type { KeyIdentity, KeyRingDeps } from './ring.js';
export { generateKey, hashKey, keyIdOf, keyMatches } from './format.js';
export type { NewKey } from './format.js';
