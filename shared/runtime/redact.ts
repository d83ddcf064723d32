/** Secrets in URLs (SPEC 10: `user:pass@` never appears in what the product prints or logs). */

const SCHEME = /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** A comma that starts another URL of a list (`nats://a:1,nats://b:2`), not one inside a password or a host list. */
const NEXT_URL = /,(?=\s*[A-Za-z][A-Za-z0-9+.-]*:\/\/)/;

function redactOne(url: string): string {
  const scheme = SCHEME.exec(url)?.[0];
  if (scheme === undefined) return url;
  const rest = url.slice(scheme.length);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  // The last '@' ends the user information, as in the URL standard (an unescaped '@' in a password stays hidden).
  const at = authority.lastIndexOf('@');
  return at < 0 ? url : `${scheme}***@${rest.slice(at + 1)}`;
}

/**
 * `scheme://user:pass@host...` -> `scheme://***@host...`, and so for a bare `user@` (a NATS
 * token is one) and for every URL of a comma-separated list. Everything else is left as it
 * is. Not the WHATWG URL parser: it rejects MongoDB's multi-host form
 * (`mongodb://u:p@h1:27017,h2:27017/db`) and would re-serialize what it accepts.
 */
export function redactUrl(url: string): string {
  return url.split(NEXT_URL).map(redactOne).join(',');
}
