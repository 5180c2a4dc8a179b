/**
 * HTTP and HTTPS checks against real servers on 127.0.0.1: status, body window, Host, User-Agent,
 * timeouts that close the connection, and TLS (SNI, verification, insecure) with an openssl-made
 * self-signed certificate.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { hostHeader, runCheck } from './http.js';
import { httpTarget, selfSigned, sleep, webServer, type Local, type Seen } from './testkit.js';
import { USER_AGENT, type HttpCheckSpec } from './types.js';

const routes: Record<string, (res: http.ServerResponse) => void> = {
  '/ok': (res) => res.end('hello OK world'),
  '/503': (res) => res.writeHead(503).end('down'),
  '/302': (res) => res.writeHead(302, { Location: '/ok' }).end(),
  '/short': (res) => res.end('x'.repeat(100)),
  // The needle straddles a chunk boundary, inside the window.
  '/split': (res) => {
    res.write('x'.repeat(4000) + 'NEE');
    setTimeout(() => res.end('DLE' + 'y'.repeat(100)), 10);
  },
  '/beyond': (res) => res.end('x'.repeat(5120) + 'NEEDLE'),
  '/edge': (res) => res.end('x'.repeat(5114) + 'NEEDLE'), // ends exactly at byte 5120
  '/utf8': (res) => res.end(Buffer.concat([Buffer.from('a'.repeat(10)), Buffer.from('état ✓ sain', 'utf8')])),
  // Never ends and never contains the needle: the probe must stop reading at the window.
  '/endless': (res) => {
    const t = setInterval(() => res.write('z'.repeat(1024)), 1);
    res.on('close', () => clearInterval(t));
  },
  '/hang': () => {},
  '/stall-body': (res) => res.writeHead(200).write('partial'),
};

let web: Local<http.Server> & { seen: Seen[] };
before(async () => {
  web = await webServer((req, res) => (routes[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res));
});
after(() => web.close());

const cases: { name: string; spec: Partial<HttpCheckSpec>; want: { ok: boolean; error: string | null } }[] = [
  { name: 'expected status', spec: { path: '/ok' }, want: { ok: true, error: null } },
  { name: 'unexpected status', spec: { path: '/503' }, want: { ok: false, error: 'status 503' } },
  { name: '404', spec: { path: '/nope' }, want: { ok: false, error: 'status 404' } },
  { name: 'redirect counts as up by default and is not followed', spec: { path: '/302' }, want: { ok: true, error: null } },
  { name: 'redirect not in an explicit expect list', spec: { path: '/302', expect: [200] }, want: { ok: false, error: 'status 302' } },
  { name: '503 accepted when listed', spec: { path: '/503', expect: [503] }, want: { ok: true, error: null } },
  { name: 'body found', spec: { path: '/ok', body: 'OK' }, want: { ok: true, error: null } },
  { name: 'body not found in a short body', spec: { path: '/short', body: 'OK' }, want: { ok: false, error: 'body not found (100 bytes)' } },
  { name: 'body split across chunks within the window', spec: { path: '/split', body: 'NEEDLE' }, want: { ok: true, error: null } },
  { name: 'body ending exactly at the window edge', spec: { path: '/edge', body: 'NEEDLE' }, want: { ok: true, error: null } },
  { name: 'body beyond the window', spec: { path: '/beyond', body: 'NEEDLE' }, want: { ok: false, error: 'body not found in first 5120 bytes' } },
  { name: 'multi-byte body string', spec: { path: '/utf8', body: 'état ✓' }, want: { ok: true, error: null } },
  { name: 'endless body: stops at the window', spec: { path: '/endless', body: 'NEEDLE' }, want: { ok: false, error: 'body not found in first 5120 bytes' } },
  { name: 'server that never answers', spec: { path: '/hang' }, want: { ok: false, error: 'timeout' } },
  { name: 'body that stalls', spec: { path: '/stall-body', body: 'NEEDLE' }, want: { ok: false, error: 'timeout' } },
  { name: 'status-only check does not wait for a stalled body', spec: { path: '/stall-body' }, want: { ok: true, error: null } },
];

for (const c of cases) {
  test(`http: ${c.name}`, async () => {
    const closedBefore = web.closed();
    const acceptedBefore = web.accepted();
    // A short budget only where the timeout is the point; elsewhere a loaded CI box must not time out.
    const r = await runCheck(httpTarget(web.port, c.spec, { timeoutMs: c.want.error === 'timeout' ? 250 : 2000 }));
    assert.deepEqual({ ok: r.ok, error: r.error }, c.want);
    assert.ok(r.rttMs < 2000, `rtt ${r.rttMs}`);
    // Every check is one fresh connection, and the probe closes it whatever the verdict.
    for (let i = 0; i < 100 && web.closed() === closedBefore; i++) await sleep(5);
    assert.equal(web.accepted(), acceptedBefore + 1);
    assert.equal(web.closed(), closedBefore + 1);
  });
}

test('http: the timeout is the whole budget and the hung socket is destroyed promptly', async () => {
  const closedBefore = web.closed();
  const r = await runCheck(httpTarget(web.port, { path: '/hang' }, { timeoutMs: 200 }));
  assert.equal(r.error, 'timeout');
  assert.ok(r.rttMs >= 190 && r.rttMs < 600, `rtt ${r.rttMs}`);
  for (let i = 0; i < 20 && web.closed() === closedBefore; i++) await sleep(5);
  assert.equal(web.closed(), closedBefore + 1, 'server saw the close within 100 ms of the timeout');
});

test('http: Host header, User-Agent and path as sent', async () => {
  web.seen.length = 0;
  await runCheck(httpTarget(web.port, { path: '/ok' }));
  await runCheck(httpTarget(web.port, { path: '/ok', host: 'svc.example.com' }));
  assert.deepEqual(
    web.seen.map((s) => [s.path, s.host, s.userAgent]),
    [
      ['/ok', `127.0.0.1:${web.port}`, USER_AGENT],
      ['/ok', 'svc.example.com', USER_AGENT],
    ],
  );
  assert.match(USER_AGENT, /^Meridian-Probe\/\d+\.\d+\.\d+/);
});

test('http: Host header defaults (port elided when default, IPv6 bracketed)', () => {
  const spec = (type: 'http' | 'https'): HttpCheckSpec => ({ type, path: '/', expect: [200], body: null, host: null, sni: null, insecure: false, ca: null });
  const t = (address: string, port: number, type: 'http' | 'https') =>
    hostHeader({ key: 'r/e', address, port, check: spec(type), timing: { intervalMs: 1, timeoutMs: 1, rise: 1, fall: 1 } }, spec(type));
  assert.equal(t('192.0.2.1', 80, 'http'), '192.0.2.1');
  assert.equal(t('192.0.2.1', 443, 'https'), '192.0.2.1');
  assert.equal(t('192.0.2.1', 443, 'http'), '192.0.2.1:443');
  assert.equal(t('2001:db8::1', 8080, 'http'), '[2001:db8::1]:8080');
});

// HTTPS: SNI is recorded at ClientHello time (SNICallback), so it is seen even when the client
// later rejects the certificate.
const pair = selfSigned('svc.test');
const ctx = tls.createSecureContext(pair);
const sni: (string | null)[] = [];
let secure: Local<http.Server> & { seen: Seen[] };
before(async () => {
  secure = await webServer((_req, res) => res.end('secure OK'), {
    ...pair,
    SNICallback: (name, cb) => {
      sni.push(name);
      cb(null, ctx);
    },
  });
});
after(() => secure.close());

const tlsCases: { name: string; spec: Partial<HttpCheckSpec>; want: { ok: boolean; error: RegExp | null }; sni: string | false }[] = [
  { name: 'insecure: true passes on a self-signed cert; SNI = spec.sni', spec: { sni: 'svc.test', insecure: true, body: 'secure' }, want: { ok: true, error: null }, sni: 'svc.test' },
  {
    name: 'insecure: false fails on a self-signed cert with a clear error',
    spec: { sni: 'svc.test' },
    want: { ok: false, error: /^tls DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate$/ },
    sni: 'svc.test',
  },
  { name: 'SNI defaults to the Host name (port stripped)', spec: { host: 'svc.test:8443', insecure: true }, want: { ok: true, error: null }, sni: 'svc.test' },
  { name: 'sni wins over host', spec: { host: 'www.test', sni: 'svc.test', insecure: true }, want: { ok: true, error: null }, sni: 'svc.test' },
  { name: 'no SNI for an IP-only check', spec: { insecure: true }, want: { ok: true, error: null }, sni: false },
  { name: 'ca: the private CA verifies the certificate, no insecure needed', spec: { sni: 'svc.test', ca: pair.cert.toString() }, want: { ok: true, error: null }, sni: 'svc.test' },
  { name: 'ca: another CA does not verify it', spec: { sni: 'svc.test', ca: selfSigned('other.test').cert.toString() }, want: { ok: false, error: /^tls / }, sni: 'svc.test' },
  {
    name: 'ca: the right CA but the wrong name still fails',
    spec: { sni: 'wrong.test', ca: pair.cert.toString() },
    want: { ok: false, error: /^tls ERR_TLS_CERT_ALTNAME_INVALID/ },
    sni: 'wrong.test',
  },
];

for (const c of tlsCases) {
  test(`https: ${c.name}`, async () => {
    sni.length = 0;
    secure.seen.length = 0;
    const r = await runCheck(httpTarget(secure.port, { type: 'https', path: '/', ...c.spec }, { timeoutMs: 3000 }));
    assert.equal(r.ok, c.want.ok, `error: ${r.error}`);
    if (c.want.error) assert.match(r.error ?? '', c.want.error);
    else assert.equal(r.error, null);
    assert.deepEqual(sni, c.sni === false ? [] : [c.sni], 'SNI sent in the ClientHello');
    if (r.ok) assert.equal(secure.seen[0]?.servername, c.sni, 'tlsSocket.servername on the server');
  });
}

test('https: plain HTTP server behind an https check fails with a TLS error, not a hang', async () => {
  const r = await runCheck(httpTarget(web.port, { type: 'https', path: '/ok', insecure: true }, { timeoutMs: 1000 }));
  assert.equal(r.ok, false);
  assert.equal(r.error, 'tls EPROTO: wrong version number');
});
