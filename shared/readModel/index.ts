export { AccountReadModel } from './accountReadModel.js';
export { AccountReader } from './accountReader.js';
