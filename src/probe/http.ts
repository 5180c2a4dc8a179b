/**
 * HTTP and HTTPS checks: one GET over a fresh connection to the target's IP, healthy when the
 * status is expected and, if a body string is configured, it occurs within the first BODY_LIMIT
 * bytes (Route 53's string matching). The response is destroyed as soon as the verdict is known:
 * a check never downloads more than it needs, and never holds a connection for reuse.
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { attempt, describeError } from './attempt.js';
import { BODY_LIMIT, USER_AGENT, type CheckResult, type HttpCheckSpec, type ProbeTarget } from './types.js';

export function runCheck(target: ProbeTarget, signal?: AbortSignal): Promise<CheckResult> {
  const spec = target.check;
  if (spec.type === 'tcp') return Promise.resolve({ ok: false, rttMs: 0, error: 'not an http check' });
  if (net.isIP(target.address) === 0) return Promise.resolve({ ok: false, rttMs: 0, error: 'address is not an IP literal' });
  return attempt(target.timing.timeoutMs, signal, (done) => {
    let response: http.IncomingMessage | null = null;
    const req = (spec.type === 'https' ? https : http).request(requestOptions(target, spec), (res) => {
      response = res;
      res.on('error', (err) => done(false, describeError(err)));
      const status = res.statusCode ?? 0;
      if (!spec.expect.includes(status)) return done(false, `status ${status}`);
      if (spec.body === null) return done(true, null);
      matchBody(res, Buffer.from(spec.body, 'utf8'), done);
    });
    req.on('error', (err) => done(false, describeError(err)));
    req.end();
    return () => {
      response?.destroy();
      req.destroy();
    };
  });
}

/** Reads until the needle is found, BODY_LIMIT bytes were seen, or the body ends. */
function matchBody(res: http.IncomingMessage, needle: Buffer, done: (ok: boolean, error: string | null) => void): void {
  let seen = Buffer.alloc(0);
  // Bytes, not text: a multi-byte character split across chunks still matches, and no decoding is needed.
  res.on('data', (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk.subarray(0, BODY_LIMIT - seen.length)]);
    if (seen.includes(needle)) done(true, null);
    else if (seen.length >= BODY_LIMIT) done(false, `body not found in first ${BODY_LIMIT} bytes`);
  });
  res.on('end', () => done(false, `body not found (${seen.length} bytes)`));
  // After 'end' this is a no-op; before it, the server cut the body short.
  res.once('close', () => done(false, 'connection closed mid-body'));
}

export function requestOptions(target: ProbeTarget, spec: HttpCheckSpec): https.RequestOptions {
  const opts: https.RequestOptions = {
    host: target.address,
    port: target.port,
    method: 'GET',
    path: spec.path,
    // A fresh connection per check: a pooled one would hide connect and handshake failures.
    agent: false,
    setHost: false,
    headers: { Host: hostHeader(target, spec), 'User-Agent': USER_AGENT, Accept: '*/*', Connection: 'close' },
  };
  if (spec.type === 'https') {
    // Node would otherwise derive SNI from the Host header; '' sends none (IP literals are not allowed in SNI).
    const name = spec.sni ?? (spec.host === null ? null : stripPort(spec.host));
    opts.servername = name === null || net.isIP(name) !== 0 ? '' : name;
    opts.rejectUnauthorized = !spec.insecure;
    if (spec.ca !== null) opts.ca = spec.ca;
  }
  return opts;
}

/** spec.host verbatim, else the address (bracketed if IPv6) with `:port` unless it is the scheme's default (RFC 9110 §7.2). */
export function hostHeader(target: ProbeTarget, spec: HttpCheckSpec): string {
  if (spec.host !== null) return spec.host;
  const host = net.isIPv6(target.address) ? `[${target.address}]` : target.address;
  const defaultPort = spec.type === 'https' ? 443 : 80;
  return target.port === defaultPort ? host : `${host}:${target.port}`;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i < 0 ? host : host.slice(0, i);
}
