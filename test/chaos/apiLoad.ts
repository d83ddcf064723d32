/**
 * The chaos run's API traffic: signed payment webhooks (a share replayed), operator
 * adjustments, plan purchases and VM allocations, while faults kill the API and the servers behind it. A request that
 * gets no definitive answer (refused connection, reset, 429, 5xx) is sent again, unchanged,
 * until it does, as a payment provider retries a webhook: the same payment_id is the
 * idempotency key. What each request did is recorded only from a definitive answer, so the
 * checker counts every credit and debit once.
 */
import { Agent } from 'node:http';
import { signBody } from '../../services/api/index.js';
import { mulberry32 } from '../../services/cli/load/generate.js';
import { send, type HttpCall } from '../bench/httpLoad.js';

export interface ApiTarget {
  url: string;
  adminToken: string;
  webhookSecret: string;
}

export interface Credit {
  account: string;
  micros: bigint;
  paidAt: number;
}

export interface ApiLedger {
  /** Payments credited (200 or 202), once per payment id. */
  credits: Map<string, Credit>;
  /** Plan purchases debited: account -> micros. */
  debits: Map<string, bigint>;
  /** Operator adjustments applied (200 or 202), once per adjustment id: signed micros. */
  adjustments: Map<string, { account: string; micros: bigint }>;
  /** Answers by operation and status; `retry` counts requests sent again. */
  statuses: Record<string, number>;
}

export function newLedger(): ApiLedger {
  return { credits: new Map(), debits: new Map(), adjustments: new Map(), statuses: {} };
}

const DEFINITIVE = (status: number): boolean => status !== 429 && status < 500;

/** Sends `call` until it gets a definitive answer; `retried` says whether an earlier attempt may have been applied. */
async function untilAnswered(
  agent: Agent,
  target: ApiTarget,
  call: HttpCall,
  ledger: ApiLedger,
  op: string,
): Promise<{ status: number; body: unknown; retried: boolean }> {
  const base = new URL(target.url);
  let retried = false;
  for (let attempt = 0; ; attempt++) {
    try {
      const { status, text } = await send(agent, base, call);
      if (DEFINITIVE(status)) {
        ledger.statuses[`${op} ${status}`] = (ledger.statuses[`${op} ${status}`] ?? 0) + 1;
        return { status, body: text.startsWith('{') ? (JSON.parse(text) as unknown) : text, retried };
      }
    } catch {
      // No answer: the request may or may not have been applied.
    }
    retried = true;
    ledger.statuses['retry'] = (ledger.statuses['retry'] ?? 0) + 1;
    await new Promise((r) => setTimeout(r, Math.min(2000, 100 * (attempt + 1))));
  }
}

/** One signed payment; credited on 200/202 (a replay answers 200 with duplicate: true and is not credited again). */
export async function pay(
  agent: Agent,
  target: ApiTarget,
  ledger: ApiLedger,
  paymentId: string,
  account: string,
  micros: bigint,
  paidAt: number,
): Promise<number> {
  const body = JSON.stringify({ payment_id: paymentId, account_id: account, amount_micros: Number(micros), paid_at: new Date(paidAt).toISOString() });
  const call: HttpCall = { method: 'POST', path: '/v1/webhooks/payment', body, headers: { 'x-tally-signature': signBody(body, target.webhookSecret) } };
  const { status } = await untilAnswered(agent, target, call, ledger, 'payment');
  if (status === 200 || status === 202) ledger.credits.set(paymentId, { account, micros, paidAt });
  return status;
}

/**
 * One operator adjustment (issue 31), sent again unchanged until answered: 200/202 applied,
 * once per id however often it was sent (a replay answers the same entry). 422: a debit
 * the balance could not take (never applied).
 */
async function adjust(agent: Agent, target: ApiTarget, ledger: ApiLedger, adjustmentId: string, account: string, micros: bigint): Promise<void> {
  const body = JSON.stringify({ adjustment_id: adjustmentId, amount_micros: micros.toString(), reason: 'chaos run' });
  const call: HttpCall = { method: 'POST', path: `/v1/admin/accounts/${account}/adjustments`, body, headers: { authorization: `Bearer ${target.adminToken}` } };
  const { status } = await untilAnswered(agent, target, call, ledger, 'adjustment');
  if (status === 200 || status === 202) ledger.adjustments.set(adjustmentId, { account, micros });
}

/**
 * One plan purchase. 201 (or 202: stored, its fold pending): debited. 409 plan_active after an attempt that got no answer:
 * that attempt's claim is in (each account buys once per run), so it is debited too.
 */
async function buy(agent: Agent, target: ApiTarget, ledger: ApiLedger, account: string, price: bigint): Promise<boolean> {
  const call: HttpCall = {
    method: 'POST',
    path: `/v1/accounts/${account}/plan`,
    body: '{"plan_id":"basic"}',
    headers: { authorization: `Bearer ${target.adminToken}` },
  };
  const { status, body, retried } = await untilAnswered(agent, target, call, ledger, 'purchase');
  const code = (body as { error?: { code?: string } } | null)?.error?.code; // errors answer {"error": {"code", "message"}}
  if (status === 201 || status === 202 || (retried && status === 409 && code === 'plan_active')) {
    ledger.debits.set(account, price);
    return true;
  }
  return false;
}

async function allocateVm(agent: Agent, target: ApiTarget, ledger: ApiLedger, account: string): Promise<void> {
  const call: HttpCall = { method: 'POST', path: `/v1/accounts/${account}/vms`, body: '{}', headers: { authorization: `Bearer ${target.adminToken}` } };
  await untilAnswered(agent, target, call, ledger, 'vm');
}

export interface ApiLoadOptions {
  target: ApiTarget;
  ledger: ApiLedger;
  accounts: number;
  seed: number;
  /** Payments to send (each to a distinct account); replays, purchases and VMs follow from it. */
  payments: number;
  /** Spread over this long. */
  seconds: number;
  /** The plan bought (basic): its price. */
  planPriceMicros: bigint;
  /** Stop early. */
  stop: () => boolean;
}

/** Polls the account until its first payment is folded (first_paid_at set). */
async function untilFolded(agent: Agent, target: ApiTarget, ledger: ApiLedger, account: string): Promise<void> {
  const call: HttpCall = { method: 'GET', path: `/v1/accounts/${account}`, headers: { authorization: `Bearer ${target.adminToken}` } };
  for (;;) {
    const { body } = await untilAnswered(agent, target, call, ledger, 'read');
    if ((body as { first_paid_at?: string | null } | null)?.first_paid_at) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Veteran accounts: paid 10 to 40 days ago, before any usage is published, so their
 * records are priced at the week and month tiers (and the ladder tick has tiers to
 * materialize). Waits until every payment is folded (200, or 202 then folded).
 */
export async function payVeterans(target: ApiTarget, ledger: ApiLedger, accounts: number, count: number, seed: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const rand = mulberry32(seed ^ 0x1234567);
  try {
    const jobs = Array.from({ length: count }, (_, i) => i);
    const client = async (): Promise<void> => {
      for (let i = jobs.shift(); i !== undefined; i = jobs.shift()) {
        const account = `acct-${(i * 7919 + 1) % accounts}`;
        const paidAt = Date.now() - Math.floor((10 + rand() * 30) * 86_400_000);
        if ((await pay(agent, target, ledger, `vet-${seed}-${i}`, account, 100_000_000n, paidAt)) === 202) await untilFolded(agent, target, ledger, account);
      }
    };
    await Promise.all([client(), client(), client(), client()]);
  } finally {
    agent.destroy();
  }
}

/** Payments (10% replayed at once, 5% later), adjustments on a fifth (each sent twice), a basic plan for half the paid accounts, then 1-3 VMs each: spread over `seconds`. */
export async function apiLoad(o: ApiLoadOptions): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const rand = mulberry32(o.seed ^ 0x7654321);
  const pause = (o.seconds * 1000) / Math.max(1, o.payments);
  const replays: [string, string, bigint, number][] = [];
  try {
    let i = 0;
    const client = async (): Promise<void> => {
      while (!o.stop() && i < o.payments) {
        const n = i++;
        const t0 = Date.now();
        // Distinct accounts in a scrambled order, none of them a veteran.
        const account = `acct-${(n * 7919 + 2) % o.accounts}`;
        const id = `pay-${o.seed}-${n}`;
        const micros = BigInt(20_000_000 + Math.floor(rand() * 80_000_000));
        const paidAt = Date.now();
        const status = await pay(agent, o.target, o.ledger, id, account, micros, paidAt);
        const roll = rand();
        if (roll < 0.1) await pay(agent, o.target, o.ledger, id, account, micros, paidAt);
        else if (roll < 0.15) replays.push([id, account, micros, paidAt]);
        // An operator's credit or debit on a fifth of the accounts paid, sent twice: applied once.
        if ((status === 200 || status === 202) && rand() < 0.2) {
          const amount = BigInt(Math.floor(rand() * 20_000_000) - 10_000_000) || 1n;
          for (let k = 0; k < 2; k++) await adjust(agent, o.target, o.ledger, `adj-${o.seed}-${n}`, account, amount);
        }
        if ((status === 200 || status === 202) && rand() < 0.5 && (await buy(agent, o.target, o.ledger, account, o.planPriceMicros))) {
          const vms = 1 + Math.floor(rand() * 3);
          for (let v = 0; v < vms; v++) await allocateVm(agent, o.target, o.ledger, account);
        }
        const wait = pause * 2 - (Date.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    };
    await Promise.all([client(), client()]);
    for (const [id, account, micros, paidAt] of replays) await pay(agent, o.target, o.ledger, id, account, micros, paidAt);
  } finally {
    agent.destroy();
  }
}
