/**
 * The forwarder's config through the real loader: defaults when `forward:` and `forwarder:` are
 * absent (existing configs stay valid), compiled values, and every cross-check reported on the
 * line of the offending YAML node.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfigFile, loadConfigText } from '../node/config.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-fwd-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'zone'), '$ORIGIN gslb.example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n');

/** Ends inside region eu, so a test can append its `forwarder:` block (line 13) or a `forward:` section. Backends are off loopback, which health.targets refuses by default. */
const HEAD = `zones: [{ origin: gslb.example.com, file: zone }]
services:
  - name: www.gslb.example.com
    regions: [eu]
regions:
  - id: eu
    location: { lat: 53.35, lon: -6.26, continent: EU, country: IE }
    addresses: { ipv4: [192.0.2.10] }
    endpoints:
      - { id: web-1, address: 192.0.2.20, port: 8080 }
      - { id: web-2, address: 192.0.2.20, port: 8080 }
      - { id: api-1, address: 192.0.2.20, port: 9090 }
`;

function load(text: string) {
  return loadConfigText(text, join(dir, 'meridian.yaml'));
}

describe('forward config', () => {
  it('absent: defaults, no listeners, every region without a relay', () => {
    const r = load(HEAD);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    const f = r.config.forward;
    assert.deepEqual(f.listeners, []);
    assert.equal(f.drainDeadlineMs, 30_000);
    assert.deepEqual(f.outlier, { consecutiveFailures: 1, baseEjectionMs: 5_000, maxEjectionMs: 60_000 });
    assert.deepEqual(f.load, { reportIntervalMs: 1_000, reportTtlMs: 5_000, threshold: 0.8, floor: 0.1 });
    assert.deepEqual(f.relay, { headerTimeoutMs: 2_000, ackTimeoutMs: 10_000 });
    assert.deepEqual(f.leastResponseTime, { decayMs: 10_000 });
    assert.deepEqual(f.regions.get('eu'), { relay: null, capacity: null, listen: new Map(), weights: new Map() });
  });

  it('the demo config still loads', () => {
    const r = loadConfigFile(new URL('../../zones/meridian.yaml', import.meta.url).pathname);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  });

  it('compiles a listener with its defaults and a region block', () => {
    const r = load(`${HEAD}    forwarder:
      relay: 10.0.0.1:7400
      capacity: 5000
      listen: { web: 127.0.0.1:8080 }
      weights: { web-1: 3 }
forward:
  connectTimeoutMs: 500
  listeners:
    - { name: web, service: www.gslb.example.com, listen: 0.0.0.0:443, backends: { port: 8080 } }
    - name: tls
      service: www.gslb.example.com.
      listen: "[::]:8443"
      balance: source-hash
      proxyProtocol: v2
      idleTimeoutMs: 1000
      sni: { routes: [{ names: [API.example.com.], backends: { ids: [api-1] } }] }
`);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    const [web, tls] = r.config.forward.listeners;
    assert.deepEqual(web, {
      name: 'web',
      service: 'www.gslb.example.com.',
      listen: { host: '0.0.0.0', port: 443 },
      backends: { port: 8080 },
      balance: 'weighted-least-connections',
      proxyProtocol: 'none',
      maxConnections: null,
      maxConnectionsPerSource: null,
      connectTimeoutMs: 500,
      idleTimeoutMs: 60_000,
      sni: null,
    });
    assert.equal(tls!.listen.host, '::');
    assert.equal(tls!.idleTimeoutMs, 1_000);
    assert.deepEqual(tls!.sni, { routes: [{ names: ['api.example.com'], backends: { ids: ['api-1'] } }], unmatched: 'default', timeoutMs: 5_000 });
    const eu = r.config.forward.regions.get('eu')!;
    assert.deepEqual(eu.relay, { host: '10.0.0.1', port: 7400 });
    assert.equal(eu.capacity, 5_000);
    assert.deepEqual(eu.listen.get('web'), { host: '127.0.0.1', port: 8080 });
    assert.equal(eu.weights.get('web-1'), 3);
  });

  it('accepts both new balancers and a decay', () => {
    const r = load(`${HEAD}forward:
  leastResponseTime: { decayMs: 30000 }
  listeners:
    - { name: a, service: www.gslb.example.com, listen: 127.0.0.1:1, balance: least-response-time }
    - { name: b, service: www.gslb.example.com, listen: 127.0.0.1:2, balance: random-two-choices }
`);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.deepEqual(
      r.config.forward.listeners.map((l) => l.balance),
      ['least-response-time', 'random-two-choices'],
    );
    assert.equal(r.config.forward.leastResponseTime.decayMs, 30_000);
  });

  const problems: [string, string, number, RegExp][] = [
    ['unknown service', 'forward:\n  listeners:\n    - { name: web, service: nope.example.com, listen: 127.0.0.1:1 }\n', 15, /unknown service "nope.example.com"/],
    ['bad listen address', 'forward:\n  listeners:\n    - { name: web, service: www.gslb.example.com, listen: localhost:1 }\n', 15, /not an IP address/],
    [
      'duplicate listener',
      'forward:\n  listeners:\n    - { name: web, service: www.gslb.example.com, listen: 127.0.0.1:1 }\n    - { name: web, service: www.gslb.example.com, listen: 127.0.0.1:2 }\n',
      16,
      /defined twice/,
    ],
    ['unknown endpoint id', 'forward:\n  listeners:\n    - { name: web, service: www.gslb.example.com, listen: 127.0.0.1:1, backends: { ids: [web-9] } }\n', 15, /no region has an endpoint "web-9"/],
    [
      'bad SNI pattern',
      'forward:\n  listeners:\n    - name: web\n      service: www.gslb.example.com\n      listen: 127.0.0.1:1\n      sni: { routes: [{ names: ["a b"], backends: {} }] }\n',
      18,
      /not a host name/,
    ],
    [
      'unknown balance mode, naming the modes',
      'forward:\n  listeners:\n    - { name: web, service: www.gslb.example.com, listen: 127.0.0.1:1, balance: random }\n',
      15,
      /^\/forward\/listeners\/0\/balance: must be one of round-robin, .*, least-response-time, random-two-choices$/,
    ],
    ['a decay below 100 ms', 'forward:\n  leastResponseTime: { decayMs: 10 }\n', 14, /^\/forward\/leastResponseTime\/decayMs: must be at least 100$/],
    ['a decay that is not a number', 'forward:\n  leastResponseTime: { decayMs: fast }\n', 14, /^\/forward\/leastResponseTime\/decayMs: must be an integer$/],
    ['an unknown leastResponseTime key', 'forward:\n  leastResponseTime: { decay: 5000 }\n', 14, /leastResponseTime/],
    ['max ejection below base', 'forward:\n  outlier: { baseEjectionMs: 5000, maxEjectionMs: 1000 }\n', 14, /maxEjectionMs must be at least/],
    ['report TTL not above the interval', 'forward:\n  load: { reportIntervalMs: 1000, reportTtlMs: 1000 }\n', 14, /reportTtlMs must be longer/],
  ];
  for (const [name, tail, line, reason] of problems) {
    it(`reports ${name} on its line`, () => {
      const r = load(HEAD + tail);
      assert.ok(!r.ok);
      const hit = r.errors.find((e) => reason.test(e.reason));
      assert.ok(hit, JSON.stringify(r.errors));
      assert.equal(hit.line, line, hit.reason);
    });
  }

  // The forwarder's rules (checkRegionForwarder, coded as the admin API answers them) and the schema's.
  const web = (listen: string): string => `forward:\n  listeners: [{ name: web, service: www.gslb.example.com, listen: "${listen}" }]\n`;
  const regionProblems: [string, string, RegExp][] = [
    ['a relay that is not host:port', '    forwarder: { relay: "10.0.0.1" }\n', /^MERIDIAN_ERR_INVALID_FORWARDER: region eu: forwarder\.relay: /],
    ['a relay port out of range', '    forwarder: { relay: "10.0.0.1:65536" }\n', /^MERIDIAN_ERR_INVALID_FORWARDER: region eu: forwarder\.relay: listen port 65536 out of range/],
    ['a listen override for no listener', '    forwarder: { listen: { nope: 127.0.0.1:1 } }\n', /^MERIDIAN_ERR_INVALID_FORWARDER: region eu: forwarder\.listen\.nope: no listener named "nope"/],
    [
      'a weight for an endpoint of no such id',
      '    forwarder: { weights: { web-9: 2 } }\n',
      /^MERIDIAN_ERR_INVALID_FORWARDER: region eu: forwarder\.weights\.web-9: no endpoint "web-9" in this region/,
    ],
    ["a relay on a listener's port", `    forwarder: { relay: "127.0.0.1:8443" }\n${web('0.0.0.0:8443')}`, /forwarder\.relay: 127\.0\.0\.1:8443 is also where listener web binds \(0\.0\.0\.0:8443\)/],
    // Second fresh-eyes review of issue 16: other regions dial the relay, and its listener trusts what arrives.
    ['a wildcard relay', '    forwarder: { relay: "0.0.0.0:9000" }\n', /forwarder\.relay: 0\.0\.0\.0 is a wildcard: other regions dial this address/],
    ['a wildcard IPv6 relay', '    forwarder: { relay: "[::]:9000" }\n', /forwarder\.relay: :: is a wildcard/],
    ['a relay on port 0', '    forwarder: { relay: "10.0.0.1:0" }\n', /forwarder\.relay: port 0: other regions dial this address, so it needs a fixed port/],
    [
      'a listen override on the relay address',
      `    forwarder: { relay: "10.0.0.1:9000", listen: { web: "10.0.0.1:9000" } }\n${web('127.0.0.1:0')}`,
      /forwarder\.relay: 10\.0\.0\.1:9000 is also where listener web binds/,
    ],
    ['an unknown key', '    forwarder: { relays: 127.0.0.1:1 }\n', /regions\/0\/forwarder/],
  ];
  for (const [name, block, reason] of regionProblems) {
    it(`reports ${name} in a region's forwarder block`, () => {
      const r = load(HEAD + block);
      assert.ok(!r.ok);
      const hit = r.errors.find((e) => reason.test(e.reason));
      assert.ok(hit, JSON.stringify(r.errors));
      assert.equal(hit.line, 13, hit.reason);
    });
  }

  it('takes distinct addresses, port 0 and a relay on another port of the same host', () => {
    const r = load(`${HEAD}    forwarder: { relay: "127.0.0.1:9000", listen: { web: "127.0.0.1:0" } }\n${web('127.0.0.1:8443')}`);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  });
});
