/**
 * `admin.tls`: a real `meridian serve` whose admin API speaks HTTPS with a certificate made here by
 * the `openssl` CLI. A client that trusts the certificate gets answers, plain HTTP to the same port
 * gets none, `meridian override` reaches the API over TLS from the same config (verifying the
 * certificate's own name while connecting to loopback), SIGHUP serves a renewed certificate, and a
 * missing file or a key that is not the certificate's is refused by `meridian check` and `serve`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connect, type PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { cli } from '../helpers/cli.js';
import { freePort, startMeridian, type RunningServer } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';
import { makeCert } from '../helpers/cert.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const REGION = { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: ['192.0.2.10'] } };

function httpsGet(port: number, ca: Buffer, token: string, servername: string, path = '/v1/status'): Promise<{ status: number; body: string; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cert: (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate() }));
    });
    req.on('error', reject);
    req.end();
  });
}

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

function fingerprintOf(file: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', file], { encoding: 'utf8' }).trim().split('=')[1]!;
}

describe('admin API over TLS (admin.tls)', () => {
  let certs: string;
  let node: RunningServer;
  let apiPort: number;
  let token: string;

  before(async () => {
    certs = mkdtempSync(join(tmpdir(), 'meridian-admin-tls-'));
    makeCert(certs, 'admin', 'admin.meridian.test');
    makeCert(certs, 'other', 'other.meridian.test');
    apiPort = await freePort();
    node = await startMeridian({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        regions: [REGION],
        services: [{ name: `www.${Z}`, regions: ['us-east'] }],
        admin: { listen: `127.0.0.1:${apiPort}`, tls: { cert: join(certs, 'admin.crt'), key: join(certs, 'admin.key') } },
      },
    });
    token = readFileSync(join(node.dir, 'data', 'admin-token'), 'utf8').trim();
  });
  after(async () => {
    await node?.stop();
    rmSync(certs, { recursive: true, force: true });
  });

  test('a client trusting the certificate is answered over HTTPS', async () => {
    const r = await httpsGet(apiPort, readFileSync(join(certs, 'admin.crt')), token, 'admin.meridian.test');
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).applied, 1);
  });

  test('plain HTTP to the API port gets no answer', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: apiPort, path: '/v1/status', headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
        res.resume();
        // Node's TLS server answers a plain-HTTP request with a bare 400 and closes: never the API.
        res.on('end', () => resolve(`status ${res.statusCode}`));
      });
      req.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
      req.end();
    });
    assert.doesNotMatch(outcome, /status 200/);
  });

  test('meridian override reaches the API over TLS from the same config', async () => {
    const config = join(node.dir, 'meridian.yaml');
    const set = await cli(['override', 'set', 'region/us-east', 'drained', '--reason', 'tls test', '--config', config]);
    assert.equal(set.status, 0, set.stderr);
    const list = await cli(['override', 'list', '--config', config]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /region\/us-east\s+drained/);
    // It went through the API: audited with the token's name, which only the API knows.
    const audit = await httpsGet(apiPort, readFileSync(join(certs, 'admin.crt')), token, 'admin.meridian.test', '/v1/audit');
    const entry = JSON.parse(audit.body).find((e: { target: string }) => e.target.includes('us-east'));
    assert.equal(entry?.author, 'bootstrap', audit.body);
  });

  test('meridian explain asks the node over TLS and says which view it used', async () => {
    const r = await cli(['explain', `www.${Z}`, '192.0.2.1', '--config', join(node.dir, 'meridian.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`view: node API at https://127\\.0\\.0\\.1:${apiPort}, config version 1 \\(live\\)`));
  });

  test('the daily commands reach the API over TLS from the same config', async () => {
    const r = await cli(['status', '--config', join(node.dir, 'meridian.yaml')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^node:\\s+https://127\\.0\\.0\\.1:${apiPort}$`, 'm'));
    assert.match(r.stdout, /^us-east\s/m);
  });

  test('explain fails when the certificate does not verify, never answering from another view; --offline answers here, loudly', async () => {
    // An operator's copy of the config that trusts another self-signed certificate, for another
    // name (other.meridian.test): the node's certificate does not verify against it.
    const yaml = readFileSync(join(node.dir, 'meridian.yaml'), 'utf8')
      .replace(/admin\.crt/g, 'other.crt')
      .replace(/admin\.key/g, 'other.key');
    const stale = join(node.dir, 'operator-copy.yaml');
    writeFileSync(stale, yaml);
    const ask = (config: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) => cli(['explain', `www.${Z}`, '192.0.2.1', '--config', config, ...extra], { env });
    const [refused, misnamed, offline] = await Promise.all([
      ask(stale),
      // The right certificate, asked for under a name it does not carry.
      ask(join(node.dir, 'meridian.yaml'), [], { MERIDIAN_API: `https://localhost:${apiPort}` }),
      ask(stale, ['--offline']),
    ]);
    for (const r of [refused, misnamed]) {
      assert.equal(r.status, 1, r.stdout);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^explain: MERIDIAN_ERR_API_UNREACHABLE: cannot reach the admin API at https:\/\/\S+: TLS verification failed: .*--offline/);
    }
    assert.match(misnamed.stderr, /localhost/);
    assert.equal(offline.status, 0, offline.stderr);
    assert.match(offline.stdout, /\nanswer: /);
    assert.match(offline.stdout, /view: in-process from .*operator-copy\.yaml/);
    assert.match(offline.stderr, /explain: WARNING: --offline: computed in this process from .*operator-copy\.yaml, NOT asked of https:\/\/127\.0\.0\.1:\d+/);
  });

  test('SIGHUP serves a renewed certificate', async () => {
    assert.equal(await peerFingerprint(apiPort), fingerprintOf(join(certs, 'admin.crt')));
    writeFileSync(join(certs, 'admin.crt'), readFileSync(join(certs, 'other.crt')));
    writeFileSync(join(certs, 'admin.key'), readFileSync(join(certs, 'other.key')));
    process.kill(node.pid, 'SIGHUP');
    const want = fingerprintOf(join(certs, 'other.crt'));
    await until(async () => (await peerFingerprint(apiPort)) === want, 20_000, 'the renewed certificate');
  });
});

describe('admin.tls: bad files are refused at load', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-admin-tls-bad-'));
    writeFileSync(join(dir, 'zone'), ZONE);
    makeCert(dir, 'a', 'a.meridian.test');
    makeCert(dir, 'b', 'b.meridian.test');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (tls: Record<string, string>): string => {
    const file = join(dir, `m-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify({ zones: [{ origin: Z, file: 'zone' }], regions: [REGION], services: [{ name: `www.${Z}`, regions: ['us-east'] }], admin: { listen: '127.0.0.1:0', tls } }));
    return file;
  };

  const cases: [string, Record<string, string>, RegExp][] = [
    ['a missing certificate file', { cert: 'nope.crt', key: 'a.key' }, /admin\.tls\.cert: cannot read .*nope\.crt \(ENOENT\)/],
    ['a key that is not the certificate’s', { cert: 'a.crt', key: 'b.key' }, /admin\.tls\.key: .*b\.key is not the private key of the certificate/],
    ['a key file holding a certificate', { cert: 'a.crt', key: 'a.crt' }, /admin\.tls\.key: .*holds no PEM private key/],
  ];
  for (const [name, tls, want] of cases) {
    test(`${name}: check and serve refuse it`, async () => {
      const config = write(tls);
      const check = await cli(['check', '--config', config]);
      assert.equal(check.status, 1, check.stdout + check.stderr);
      assert.match(check.stdout + check.stderr, want);
      const serve = await cli(['serve', '--config', config]);
      assert.notEqual(serve.status, 0);
      assert.match(serve.stdout + serve.stderr, want);
    });
  }
});

describe('admin API in plain HTTP off loopback', () => {
  test('the node warns that tokens would cross the network in clear text', async () => {
    const node = await startMeridian({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        regions: [REGION],
        services: [{ name: `www.${Z}`, regions: ['us-east'] }],
        admin: { listen: `0.0.0.0:${await freePort()}`, tokens: [{ name: 'ops', role: 'admin', sha256: createHash('sha256').update('secret').digest('hex') }] },
      },
    });
    try {
      assert.match(node.output(), /plain HTTP off loopback, so tokens cross the network in clear text; set admin\.tls/);
    } finally {
      await node.stop();
    }
  });
});
