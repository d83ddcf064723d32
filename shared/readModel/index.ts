export { AccountReadModel } from './accountReadModel.js';
export type { ModelPosition, WriteOutcome } from './accountReadModel.js';
export type { ReadModelStatus } from './accountReader.js';
export { AccountReader } from './accountReader.js';
