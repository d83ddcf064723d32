export { buildApi } from './app.js';
export type { ApiConfig, ApiDeps } from './app.js';
export { startApi } from './main.js';
export type { RunningApi } from './main.js';
export { BillingService } from './billing.js';
export type { BillingConfig, BillingDeps, Outcome, PaymentInput } from './billing.js';
export { signBody } from './auth.js';
export { BODY_LIMIT_BYTES } from './http.js';
