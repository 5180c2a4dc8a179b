/** parseCheck / parseTiming / parseProbeDefaults: accepted shapes and every rejection reason. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_EXPECT, DEFAULT_PROBE, DEFAULT_TIMING, parseCheck, parseExpect, parseProbeCheck, parseProbeDefaults, parseTiming, splitKey, USER_AGENT } from './types.js';
import { VERSION } from '../version.js';
import { selfSigned } from './testkit.js';

const http = { type: 'http', path: '/', expect: [...DEFAULT_EXPECT], body: null, host: null, sni: null, insecure: false, ca: null };
const CA = selfSigned('ca.test').cert.toString();
const CA2 = selfSigned('ca2.test').cert.toString();

const ok: { name: string; json: unknown; want: unknown }[] = [
  { name: 'missing block is a TCP check', json: undefined, want: { type: 'tcp' } },
  { name: 'tcp', json: { type: 'tcp', fall: 5 }, want: { type: 'tcp' } },
  { name: 'http defaults', json: { type: 'http' }, want: http },
  {
    name: 'http full',
    json: { type: 'http', path: '/healthz?x=1', expect: [200, 204], body: 'OK', host: 'svc.example.com:8080' },
    want: { ...http, path: '/healthz?x=1', expect: [200, 204], body: 'OK', host: 'svc.example.com:8080' },
  },
  { name: 'https sni + insecure', json: { type: 'https', sni: 'svc.example.com', insecure: true }, want: { ...http, type: 'https', sni: 'svc.example.com', insecure: true } },
  { name: 'https with a private CA (a bundle of two)', json: { type: 'https', ca: CA + CA2 }, want: { ...http, type: 'https', ca: CA + CA2 } },
  { name: 'expect patterns', json: { type: 'http', expect: ['2xx', '301-302', 200] }, want: { ...http, expect: [...Array.from({ length: 100 }, (_, i) => 200 + i), 301, 302] } },
];
for (const c of ok) test(`parseCheck ok: ${c.name}`, () => assert.deepEqual(parseCheck(c.json), c.want));

const bad: { json: unknown; re: RegExp }[] = [
  { json: [], re: /must be a mapping/ },
  { json: { type: 'icmp' }, re: /type must be tcp, http or https/ },
  { json: { type: 'tcp', path: '/' }, re: /path only apply to http/ },
  { json: { type: 'http', bogus: 1 }, re: /unknown key "bogus"/ },
  { json: { type: 'http', path: 'health' }, re: /path must start with "\/"/ },
  { json: { type: 'http', path: '/a b' }, re: /no spaces/ },
  { json: { type: 'http', path: '/a\r\nX: y' }, re: /control characters/ },
  { json: { type: 'http', expect: [] }, re: /at least one/ },
  { json: { type: 'http', expect: [700] }, re: /not a status code/ },
  { json: { type: 'http', expect: ['302-301'] }, re: /not a status code/ },
  { json: { type: 'http', body: '' }, re: /non-empty/ },
  { json: { type: 'http', body: 'x'.repeat(5121) }, re: /at most 5120 bytes/ },
  { json: { type: 'http', host: 'a b' }, re: /host must be a host name/ },
  { json: { type: 'http', sni: 'a.example' }, re: /only apply to https/ },
  { json: { type: 'http', insecure: true }, re: /only apply to https/ },
  { json: { type: 'https', sni: '192.0.2.1' }, re: /cannot carry an IP/ },
  { json: { type: 'https', insecure: 'yes' }, re: /insecure must be true or false/ },
  { json: { type: 'http', ca: CA }, re: /only apply to https/ },
  { json: { type: 'https', ca: CA, insecure: true }, re: /ca has no effect with insecure: true/ },
  { json: { type: 'https', ca: 42 }, re: /ca must be PEM text/ },
  { json: { type: 'https', ca: '/etc/ssl/private-ca.pem' }, re: /ca must be PEM text with at least one certificate/ },
  { json: { type: 'https', ca: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----' }, re: /ca: certificate 1 does not parse/ },
];
for (const c of bad)
  test(`parseCheck rejects ${JSON.stringify(c.json).slice(0, 60)}`, () =>
    assert.throws(
      () => parseCheck(c.json),
      (e: Error) => e.message.startsWith('check: ') && c.re.test(e.message),
    ));

test('parseTiming: defaults, overrides, and the classic "3 failures down, 2 successes up"', () => {
  assert.deepEqual(parseTiming({}), DEFAULT_TIMING);
  assert.deepEqual(DEFAULT_TIMING, { intervalMs: 5000, timeoutMs: 2000, rise: 2, fall: 3 });
  assert.deepEqual(parseTiming({ fall: 3, rise: 2, intervalMs: 10000 }), { intervalMs: 10000, timeoutMs: 2000, rise: 2, fall: 3 });
  assert.throws(() => parseTiming({ rise: 0 }), /check: rise must be an integer from 1 to 100/);
  assert.throws(() => parseTiming({ fall: 2.5 }), /fall must be an integer/);
  assert.throws(() => parseTiming({ intervalMs: 1000 }), /timeoutMs \(2000\) must not exceed intervalMs \(1000\)/);
});

test('parseProbeCheck: per-endpoint timing falls back to health.probe defaults', () => {
  const defaults = parseProbeDefaults({ intervalMs: 10000, fall: 5 });
  const r = parseProbeCheck({ type: 'https', rise: 4 }, defaults.timing);
  assert.equal(r.check.type, 'https');
  assert.deepEqual(r.timing, { intervalMs: 10000, timeoutMs: 2000, rise: 4, fall: 5 });
});

test('parseProbeDefaults', () => {
  assert.deepEqual(parseProbeDefaults(undefined), { ...DEFAULT_PROBE, timing: DEFAULT_TIMING });
  assert.equal(parseProbeDefaults({ concurrency: 8, jitter: 0 }).concurrency, 8);
  assert.throws(() => parseProbeDefaults({ concurrency: 0 }), /^Error: probe: concurrency/);
  assert.throws(() => parseProbeDefaults({ jitter: 0.9 }), /probe: jitter/);
  assert.throws(() => parseProbeDefaults({ type: 'tcp' }), /probe: unknown key "type"/);
});

test('parseExpect default is 200-399; User-Agent carries the version; splitKey', () => {
  assert.deepEqual([parseExpect(undefined)[0], parseExpect(undefined).at(-1), parseExpect(undefined).length], [200, 399, 200]);
  assert.equal(USER_AGENT, `Meridian-Probe/${VERSION}`);
  assert.deepEqual(splitKey('eu-west/web-1'), { region: 'eu-west', endpoint: 'web-1' });
  assert.deepEqual(splitKey('solo'), { region: '', endpoint: 'solo' });
});
