import { isIP } from 'node:net';
import { z } from 'zod';

/** The examples' stand-in for a secret (`change-me-admin-token`): a deployment that kept it has no secret at all. */
const PLACEHOLDER = /change-?me/i;
const notPlaceholder = (v: string) => !PLACEHOLDER.test(v);
const PLACEHOLDER_MESSAGE = 'is a placeholder (contains "change-me"): set a secret of your own';

/** A secret: at least `min` characters and not a placeholder. */
export const secret = (min: number) => z.string().min(min, `must be at least ${min} characters`).refine(notPlaceholder, PLACEHOLDER_MESSAGE);

/** The user:password part of every URL in `value` (a list of servers has one per entry). */
const userinfo = (value: string): string => [...value.matchAll(/:\/\/([^@/,]*)@/g)].map((m) => m[1]).join(' ');
/** A URL whose credentials must not be the placeholder. */
export const withSecret = <T extends z.ZodType<string>>(schema: T) => schema.refine((v) => notPlaceholder(userinfo(v)), `password ${PLACEHOLDER_MESSAGE}`);

/** `a.b.c.d`, `a.b.c.d/n` or an IPv6 address with an optional `/n`. */
function isCidr(text: string): boolean {
  const [address = '', bits, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/**
 * Which peers may say who the client is (X-Forwarded-For): a number of proxy hops in
 * front of the API, or a comma-separated list of addresses and CIDRs. fastify's
 * `trustProxy` takes both forms as they are.
 */
export const trustProxy = z.string().transform((raw, ctx): number | string[] => {
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops >= 1 && hops <= 16) return hops;
  }
  const entries = raw.split(',').map((e) => e.trim());
  if (entries.every(isCidr)) return entries;
  ctx.addIssue({ code: 'custom', message: 'must be a number of proxy hops (1..16) or a comma-separated list of IP addresses and CIDRs, such as 10.0.0.0/8' });
  return z.NEVER;
});
