/**
 * Who may do what: the auth matrix (every route × no token, a bad token, viewer, operator, admin),
 * tokens stored hashed and revocable, static tokens from the YAML, the refusal to listen beyond
 * loopback without tokens, rate limits per IP and per token, body size, media type and JSON
 * errors, and no secret in the logs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { newSecret, sha256Hex } from '../../src/admin/auth.js';
import type { AdminDeps } from '../../src/admin/context.js';
import { ERRORS } from '../../src/admin/errors.js';
import { AdminStartError, BOOTSTRAP_TOKEN_FILE, ensureTokens, startAdminServer } from '../../src/admin/server.js';
import { openFileStore } from '../../src/store/file.js';
import { REGIONS, startAdminNode, type AdminNode } from './helpers.js';
import { ROUTES, type Role } from './routes.js';

const ROOT = newSecret();
const REGIONS_WITH_PROBE = REGIONS.map((r) => (r.id === 'ap-southeast' ? { ...r, endpoints: [{ id: 'probe-1', address: '127.0.0.1', port: 9, check: { type: 'tcp' } }] } : r));

/** Every file under `dir`, with its text. */
function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push({ path, text: readFileSync(path, 'utf8') });
  }
  return out;
}

describe('auth, tokens and request limits', () => {
  let n: AdminNode;
  const logLines: string[] = [];
  const secrets: Record<Role, string> = { viewer: '', operator: '', admin: ROOT };

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    n = await startAdminNode({
      regions: REGIONS_WITH_PROBE,
      admin: { tokens: [{ name: 'root', role: 'admin', sha256: sha256Hex(ROOT) }], bodyLimitBytes: 16_384 },
      secret: ROOT,
      logger: pino({ level: 'trace' }, sink),
    });
    for (const role of ['viewer', 'operator'] as const) {
      const r = await n.api('POST', '/v1/tokens', { body: { name: `the-${role}`, role, reason: 'matrix' } });
      assert.equal(r.status, 201, r.body);
      assert.deepEqual([r.json.name, r.json.role], [`the-${role}`, role]);
      assert.match(r.json.secret, /^mrd_[A-Za-z0-9_-]{43}$/);
      secrets[role] = r.json.secret;
    }
  });
  after(() => n?.stop());

  test('the matrix covers every operation of the OpenAPI document, and nothing else', async () => {
    const doc = (await n.api('GET', '/openapi.json', { token: null })).json;
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const matrix = ROUTES.filter((r) => r.route.startsWith('/v1/')).map((r) => `${r.method} ${r.route}`);
    assert.deepEqual([...matrix].sort(), [...documented].sort());
    assert.equal(new Set(matrix).size, matrix.length);
  });

  test('auth matrix: each route × {no token, bad token, viewer, operator, admin}', async () => {
    const rank = { viewer: 0, operator: 1, admin: 2 };
    const admin = (method: string, url: string, body?: unknown) => n.api(method, url, body === undefined ? {} : { body });
    const callers: { who: string; token: string | null; role: Role | null }[] = [
      { who: 'no token', token: null, role: null },
      { who: 'bad token', token: newSecret(), role: null },
      { who: 'viewer', token: secrets.viewer, role: 'viewer' },
      { who: 'operator', token: secrets.operator, role: 'operator' },
      { who: 'admin', token: secrets.admin, role: 'admin' },
    ];
    const failures: string[] = [];
    for (const row of ROUTES) {
      for (const c of callers) {
        await row.prepare?.(admin);
        const r = await n.api(row.method, row.url, { token: c.token, ...(row.body ? { body: row.body() } : {}) });
        const allowed = row.role === null || (c.role !== null && rank[c.role] >= rank[row.role]);
        const want = allowed ? row.ok : row.role !== null && c.role === null ? [401] : [403];
        const code = !allowed ? (c.role === null ? 'MERIDIAN_ERR_UNAUTHORIZED' : 'MERIDIAN_ERR_FORBIDDEN') : null;
        if (!want.includes(r.status) || (code && r.json?.error?.code !== code)) failures.push(`${row.method} ${row.url} as ${c.who}: ${r.status} (want ${want.join('/')}) ${r.body.slice(0, 200)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('the scheme is case-insensitive (RFC 7235); other schemes and malformed tokens are 401', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const r = await n.api('GET', '/v1/status', { token: null, headers: { authorization: `${scheme} ${ROOT}` } });
      assert.equal(r.status, 200, `${scheme}: ${r.body}`);
    }
    for (const header of [`Basic ${Buffer.from(`root:${ROOT}`).toString('base64')}`, 'Bearer short', `Bearer ${ROOT} extra`, `Bearer  ${ROOT}x`, '']) {
      const r = await n.api('GET', '/v1/status', { token: null, headers: { authorization: header } });
      assert.deepEqual([r.status, r.json.error.code], [401, 'MERIDIAN_ERR_UNAUTHORIZED'], header);
    }
  });

  test('tokens: listed without secrets, stored only as SHA-256, names unique, static ones not deletable', async () => {
    const list = (await n.api('GET', '/v1/tokens')).json;
    assert.deepEqual(
      list.find((t: { name: string }) => t.name === 'root'),
      { name: 'root', role: 'admin', createdAt: null, createdBy: null, source: 'config' },
    );
    const viewer = list.find((t: { name: string }) => t.name === 'the-viewer');
    assert.deepEqual(Object.keys(viewer).sort(), ['createdAt', 'createdBy', 'name', 'role', 'source']);
    assert.equal(viewer.createdBy, 'root');
    assert.ok(!JSON.stringify(list).includes(sha256Hex(secrets.viewer)), 'not even the hash is shown');

    const files = filesUnder(join(n.dir, 'data'));
    assert.ok(
      files.some((f) => f.path.endsWith('tokens.json') && f.text.includes(sha256Hex(secrets.viewer))),
      'the store keeps the hash',
    );
    for (const f of files) for (const s of [secrets.viewer, secrets.operator, ROOT]) assert.ok(!f.text.includes(s), `${f.path} holds a secret`);
    assert.ok(!files.some((f) => f.path.endsWith(BOOTSTRAP_TOKEN_FILE)), 'with tokens configured no bootstrap token is made');

    const dup = await n.api('POST', '/v1/tokens', { body: { name: 'the-viewer', role: 'admin' } });
    assert.deepEqual([dup.status, dup.json.error.code, dup.json.error.field], [409, 'MERIDIAN_ERR_CONFLICT', 'body/name']);
    const dupStatic = await n.api('POST', '/v1/tokens', { body: { name: 'root', role: 'viewer' } });
    assert.equal(dupStatic.status, 409);
    const delStatic = await n.api('DELETE', '/v1/tokens/root');
    assert.deepEqual([delStatic.status, delStatic.json.error.code], [409, 'MERIDIAN_ERR_CONFLICT']);
    const audit = (await n.api('GET', '/v1/audit?action=token.create')).json;
    assert.ok(audit.some((e: { target: string; detail?: { role: string } }) => e.target === 'token/the-operator' && e.detail?.role === 'operator'));
  });

  test('a deleted token stops working at once', async () => {
    const made = await n.api('POST', '/v1/tokens', { body: { name: 'short-lived', role: 'operator' } });
    assert.equal((await n.api('GET', '/v1/status', { token: made.json.secret })).status, 200);
    const del = await n.api('DELETE', '/v1/tokens/short-lived?reason=leaked');
    assert.deepEqual(del.json, { name: 'short-lived', deleted: true });
    const after = await n.api('GET', '/v1/status', { token: made.json.secret });
    assert.deepEqual([after.status, after.json.error.code], [401, 'MERIDIAN_ERR_UNAUTHORIZED']);
    const again = await n.api('DELETE', '/v1/tokens/short-lived');
    assert.deepEqual([again.status, again.json.error.code], [404, 'MERIDIAN_ERR_NOT_FOUND']);
    assert.equal((await n.api('GET', '/v1/audit?action=token.delete&limit=1')).json[0].reason, 'leaked');
  });

  test('body over admin.bodyLimitBytes → 413; not JSON → 415; broken JSON → 400 BAD_JSON; nothing changes', async () => {
    const head = await n.head();
    const big = await n.api('PUT', '/v1/zones/other.example', { body: { records: [{ name: 'x', type: 'TXT', data: `"${'a'.repeat(20_000)}"` }] } });
    assert.deepEqual([big.status, big.json.error.code], [413, 'MERIDIAN_ERR_BODY_TOO_LARGE']);
    for (const type of ['application/xml', 'text/plain', 'application/x-www-form-urlencoded']) {
      const r = await n.api('PUT', '/v1/regions/eu-west/weight', { body: type === 'application/xml' ? '<weight>1</weight>' : 'weight=1', headers: { 'content-type': type } });
      assert.deepEqual([r.status, r.json.error.code], [415, 'MERIDIAN_ERR_UNSUPPORTED_MEDIA_TYPE'], `${type}: ${r.body}`);
    }
    for (const text of ['{"weight":', '{"weight": 1,}', "{'weight': 1}", '']) {
      const r = await n.api('PUT', '/v1/regions/eu-west/weight', { body: text, headers: { 'content-type': 'application/json' } });
      assert.deepEqual([r.status, r.json.error.code], [400, 'MERIDIAN_ERR_BAD_JSON'], `${JSON.stringify(text)}: ${r.body}`);
    }
    const proto = await n.api('PUT', '/v1/regions/eu-west/weight', { body: '{"weight": 1, "__proto__": {"admin": true}}', headers: { 'content-type': 'application/json' } });
    assert.equal(proto.status, 400, proto.body);
    assert.equal(await n.head(), head);
    assert.equal((await n.api('GET', '/v1/regions/eu-west')).json.weight, 100);
  });

  test('over real HTTP: 401 without a token, 413 for a large body, 200 with the token', async () => {
    const base = `http://127.0.0.1:${n.httpPort}`;
    const anon = await fetch(`${base}/v1/config`);
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as { error: { code: string } }).error.code, 'MERIDIAN_ERR_UNAUTHORIZED');
    const big = await fetch(`${base}/v1/regions/eu-west/weight`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ROOT}`, 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 1, pad: 'x'.repeat(20_000) }),
    });
    assert.equal(big.status, 413);
    const ok = await fetch(`${base}/v1/config`, { headers: { authorization: `Bearer ${ROOT}` } });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('etag') ?? '', /^"\d+"$/);
  });

  test('no secret and no Authorization header in the logs (level trace)', () => {
    const text = logLines.join('');
    assert.ok(logLines.length > 20 && /incoming request/.test(text), 'the logs were captured');
    for (const s of [ROOT, secrets.viewer, secrets.operator]) assert.ok(!text.includes(s), 'a token secret was logged');
    assert.doesNotMatch(text, /authorization/i);
    assert.doesNotMatch(text, /bearer/i);
    assert.doesNotMatch(text, /mrd_[A-Za-z0-9_-]{20}/, 'nothing shaped like a secret');
  });
});

describe('rate limits: per client IP and per token', () => {
  let n: AdminNode;
  const logLines: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    n = await startAdminNode({ admin: { rateLimit: 3 }, logger: pino({ level: 'trace' }, sink) });
  });
  after(() => n?.stop());

  test('the bootstrap token: its file is logged, its secret is not', () => {
    const text = logLines.join('');
    assert.match(text, /created a bootstrap admin token/);
    assert.ok(text.includes(join(n.dir, 'data', BOOTSTRAP_TOKEN_FILE)));
    assert.ok(n.secret.length > 40 && !text.includes(n.secret));
  });

  test('the 4th request of a minute without a valid token from one IP is 429 MERIDIAN_ERR_RATE_LIMITED; a valid token still gets through', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await n.api('GET', '/v1/status', { token: newSecret(), remoteAddress: '10.0.0.1' })).status, 401);
    const r = await n.api('GET', '/v1/status', { token: newSecret(), remoteAddress: '10.0.0.1' });
    assert.deepEqual([r.status, r.json.error.code], [429, ERRORS.MERIDIAN_ERR_RATE_LIMITED.status === 429 ? 'MERIDIAN_ERR_RATE_LIMITED' : '']);
    assert.ok(Number(r.headers['retry-after']) > 0);
    // Only failures count per address (issue 16): a bad script must not lock a working token out.
    assert.equal((await n.api('GET', '/v1/status', { remoteAddress: '10.0.0.1' })).status, 200, 'a valid token from the same IP');
    assert.equal((await n.api('GET', '/v1/status', { remoteAddress: '10.0.0.2' })).status, 200, 'another IP');
  });

  test('a token spread over many IPs still gets its own budget of 3', async () => {
    // 10.0.0.1 and 10.0.0.2 spent two requests of this token's budget above.
    for (const ip of ['10.0.1.1']) assert.equal((await n.api('GET', '/v1/status', { remoteAddress: ip })).status, 200);
    const r = await n.api('GET', '/v1/status', { remoteAddress: '10.0.1.2' });
    assert.deepEqual([r.status, r.json.error.code], [429, 'MERIDIAN_ERR_RATE_LIMITED']);
    assert.match(r.json.error.message, /token bootstrap/);
    assert.ok(Number(r.headers['retry-after']) > 0);
  });
});

describe('starting the API: tokens required beyond loopback, bootstrap token on loopback', () => {
  let dir: string;
  let store: Awaited<ReturnType<typeof openFileStore>>;
  const deps = (staticTokens: AdminDeps['staticTokens'] = []): AdminDeps => ({ store, staticTokens, log: pino({ level: 'silent' }) }) as unknown as AdminDeps;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'meridian-admin-start-'));
    store = await openFileStore(join(dir, 'data'));
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no tokens and a non-loopback address: refuses, before binding anything', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1', '::ffff:127.0.0.1']) {
      await assert.rejects(
        ensureTokens(deps(), host, join(dir, 'data')),
        (err: unknown) => err instanceof AdminStartError && err.code === 'MERIDIAN_ERR_ADMIN_NO_TOKENS' && err.message.includes(host),
      );
    }
    // startAdminServer checks before it builds or binds: it must reject the same way.
    await assert.rejects(startAdminServer(deps(), { host: '0.0.0.0', port: 0 }, join(dir, 'data')), AdminStartError);
    assert.deepEqual(await store.tokens.list(), []);
    assert.ok(!readdirSync(join(dir, 'data')).includes(BOOTSTRAP_TOKEN_FILE));
  });

  test('with tokens configured a non-loopback address is allowed and no bootstrap token is made', async () => {
    assert.equal(await ensureTokens(deps([{ name: 'ops', role: 'admin', sha256: sha256Hex(newSecret()) }]), '0.0.0.0', join(dir, 'data')), null);
    assert.deepEqual(await store.tokens.list(), []);
  });

  test('no tokens on loopback: a bootstrap admin token, its secret only in a 0600 file', async () => {
    const file = await ensureTokens(deps(), '127.0.0.1', join(dir, 'data'));
    assert.equal(file, join(dir, 'data', BOOTSTRAP_TOKEN_FILE));
    assert.equal(statSync(file!).mode & 0o777, 0o600);
    const secret = readFileSync(file!, 'utf8').trim();
    const [token] = await store.tokens.list();
    assert.deepEqual([token!.name, token!.role, token!.sha256], ['bootstrap', 'admin', sha256Hex(secret)]);
    for (const f of filesUnder(join(dir, 'data'))) if (!f.path.endsWith(BOOTSTRAP_TOKEN_FILE)) assert.ok(!f.text.includes(secret), f.path);
    assert.equal(await ensureTokens(deps(), '::1', join(dir, 'data')), null, 'once there is a token, none is made');
  });
});
