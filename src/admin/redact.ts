/**
 * Credentials in URLs. Tokens go in the `Authorization` header only: a URL is written to access
 * logs, proxy logs and browser history, so a secret sent in one must be treated as leaked. The API
 * never reads a token from the query string; a request that carries a credential-named parameter is
 * refused (400, so the client learns it must rotate that secret) and the parameter's value is
 * redacted in the request log.
 * @module
 */

/** Words that make a query parameter a credential when any part of its name is one (`access_token`, `api-key`, `X.Auth`). */
const CREDENTIAL_WORDS = new Set([
  'token',
  'secret',
  'password',
  'passwd',
  'pwd',
  'pass',
  'auth',
  'authorization',
  'apikey',
  'key',
  'bearer',
  'credential',
  'credentials',
  'jwt',
  'session',
  'sessionid',
  'sid',
  'cookie',
]);

/** A Meridian secret (`mrd_` + 43 base64url characters, auth.ts) wherever it appears in a URL. */
const SECRET_SHAPE = /mrd_[A-Za-z0-9_-]{43}/;

/** True for `token`, `access_token`, `api_key`, `client-secret` …; not for `author` or `monkey` (parts are whole words). */
function isCredentialName(name: string): boolean {
  // `token[]`, `token%00`: what a framework might still read as `token` is judged as `token`.
  const lower = name.toLowerCase().replace(/\[\]$|\0/g, '');
  return CREDENTIAL_WORDS.has(lower.replace(/[-_.]/g, '')) || lower.split(/[-_.\s]+/).some((part) => CREDENTIAL_WORDS.has(part));
}

/** The credential-named parameters of a URL's query string, in order (empty when none). */
export function credentialParams(url: string): string[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return [...new URLSearchParams(url.slice(q + 1)).entries()].filter(([name, value]) => isCredentialName(name) || SECRET_SHAPE.test(value)).map(([name]) => name);
}

/**
 * The URL with every path segment holding a Meridian secret (a token pasted as an id:
 * `/v1/regions/mrd_…`) and the value of every credential-named query parameter replaced by
 * `[REDACTED]`.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = redactPath(q < 0 ? url : url.slice(0, q));
  if (q < 0) return path;
  return (
    path +
    '?' +
    url
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const name = eq < 0 ? pair : pair.slice(0, eq);
        return isCredentialName(decodeLoosely(name)) || SECRET_SHAPE.test(decodeLoosely(pair)) ? `${name}=[REDACTED]` : pair;
      })
      .join('&')
  );
}

function redactPath(path: string): string {
  return path
    .split('/')
    .map((segment) => (SECRET_SHAPE.test(decodeLoosely(segment)) ? '[REDACTED]' : segment))
    .join('/');
}

/** A query component decoded, or as written when an escape is malformed (`%zz`). */
function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text.replace(/%(?![0-9a-f]{2})/gi, '');
  }
}

/** fastify's request log serializer (its own fields), with the URL redacted. */
export function requestForLog(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remotePort?: number } }): Record<string, unknown> {
  return { method: req.method, url: req.url === undefined ? undefined : redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}
