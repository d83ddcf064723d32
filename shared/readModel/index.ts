export { AccountReadModel } from './accountReadModel.js';
export type { WriteOutcome } from './accountReadModel.js';
export { AccountReader } from './accountReader.js';
