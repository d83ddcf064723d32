import type { ErrorCode } from '../../../shared/domain/index.js';

/** What the account page says for a banner code: success, information or error, in words. */
export interface Banner {
  code: string;
  tone: 'success' | 'info' | 'error';
  text: string;
}

/** Outcomes of the page's own actions that are not errors. */
const NOTICES = {
  plan_purchased: ['success', 'Plan purchased. Your VM quota is ready to use.'],
  vm_allocated: ['success', 'VM allocated. It runs until the end of your plan period.'],
  pending: ['info', 'Your request is recorded and still being processed. Refresh this page in a moment to see it.'],
  signed_out: ['info', 'You are signed out.'],
  session_ended: ['info', 'Your session ended (it expired, or its key was revoked). Sign in again with a valid key.'],
} as const satisfies Record<string, readonly ['success' | 'info', string]>;

/**
 * Every error code the plan, VM and sign-in paths can answer (SPEC 7, 13), in the words an
 * account holder needs: what happened and what to do next.
 */
const ERRORS = {
  unknown_plan: 'That plan does not exist (any more). Choose one of the plans listed below.',
  account_not_found: 'There is no account for this key yet. It is created by your first payment or usage.',
  kyc_required: 'Identity verification (KYC) is required before you can buy a plan. Please complete it first.',
  insufficient_balance: "Your balance does not cover this plan's price. Top up your balance, then try again.",
  plan_active: 'You already have an active plan. A new plan can be bought once the current period ends.',
  invalid_request: 'That request was not understood. Please use the buttons on this page.',
  unsupported_media_type: 'That request was not understood. Please use the buttons on this page.',
  body_too_large: 'That request was too large. Please use the buttons on this page.',
  no_active_plan: 'You need an active plan before you can allocate a VM. Buy a plan first.',
  quota_exhausted: 'You have allocated every VM your plan includes. More become available with your next plan.',
  unauthorized: 'That key was not accepted. Check that you pasted the whole key, and that it has not been revoked.',
  forbidden: 'This request was refused: it did not come from this page.',
  rate_limited: 'Too many requests in a short time. Wait a minute, then try again.',
  unavailable: 'The service is temporarily unavailable. Nothing was changed; please try again shortly.',
  internal: 'Something went wrong on our side. Please try again; if it persists, contact support.',
} as const satisfies Partial<Record<ErrorCode, string>>;

/** The banner for a code from a redirect's query; unknown codes show nothing (no text is ever reflected). */
export function bannerFor(code: unknown): Banner | null {
  if (typeof code !== 'string') return null;
  if (Object.hasOwn(NOTICES, code)) {
    const [tone, text] = NOTICES[code as keyof typeof NOTICES];
    return { code, tone, text };
  }
  if (Object.hasOwn(ERRORS, code)) return { code, tone: 'error', text: ERRORS[code as keyof typeof ERRORS] };
  return null;
}
