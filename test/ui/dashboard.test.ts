/**
 * The dashboard (/ui) end to end: a real `meridian serve` from a YAML config with its admin API,
 * driven in headless Chromium (Debian's /usr/bin/chromium through playwright-core; never a
 * downloaded browser). It checks what an operator sees: the page refuses a bad token and loads with
 * a viewer token; an override made through the API shows on the map and in the table (waited for,
 * bounded); the answer share follows the override; the timeline shows the override and a version
 * whose diff opens on click; the explain form shows the API's steps; the page carries a strict CSP
 * that the browser enforces, with no violation and no request off the admin API. A screenshot is
 * kept in test-artifacts/ui/ (gitignored).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { encodeQuery, freePort, REPO_ROOT, udpQuery } from '../helpers/dnsproc.js';

const CHROMIUM = '/usr/bin/chromium';
const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
/**
 * eu-west has a live endpoint and one nothing listens on: up, with an endpoint down (degraded).
 * us-east runs its forwarder inside serve (forward.embedded), in front of the live backend, so its
 * connections are known from its load reports; eu-west has none running here.
 */
const regions = (live: number, closed: number, relay: number, listen: number) => [
  {
    id: 'eu-west',
    location: { lat: 53.35, lon: -6.26, continent: 'EU', country: 'IE' },
    addresses: { ipv4: ['198.51.100.10'] },
    endpoints: [
      { id: 'web-1', address: '127.0.0.1', port: live },
      { id: 'web-2', address: '127.0.0.1', port: closed },
    ],
  },
  {
    id: 'us-east',
    location: { lat: 39.04, lon: -77.49, continent: 'NA', country: 'US' },
    addresses: { ipv4: ['192.0.2.10'] },
    endpoints: [{ id: 'app', address: '127.0.0.1', port: live }],
    forwarder: { relay: `127.0.0.1:${relay}`, listen: { web: `127.0.0.1:${listen}` } },
  },
];
const SERVICES = [{ name: `www.${Z}`, ttl: 30, regions: ['eu-west', 'us-east'], policy: { failover: ['eu-west', 'us-east'] } }];
/** A bound on waiting for the page, not a speed assertion: the feed sends a state a second. */
const WAIT_MS = 15_000;
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'ui');

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian package chromium; .ci/run installs it)`;

describe('dashboard /ui in headless Chromium', { skip }, () => {
  let node: ApiNode;
  let backend: net.Server;
  let fwdPort = 0;
  /** A port nothing listens on: its endpoints are down. */
  let closed = 0;
  const sockets: net.Socket[] = [];
  let browser: Browser;
  let page: Page;
  let base = '';
  let viewer = '';
  const console: string[] = [];
  const offsite: string[] = [];

  before(async () => {
    // Holds what it accepts (a forwarded client stays connected) until the end of the test.
    backend = net.createServer((c) => sockets.push(c));
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const live = (backend.address() as AddressInfo).port;
    // One after another, so no two are the same.
    closed = await freePort();
    const relay = await freePort();
    fwdPort = await freePort();
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        health: { probe: { intervalMs: 200, timeoutMs: 150, rise: 1, fall: 1 } },
        regions: regions(live, closed, relay, fwdPort),
        services: SERVICES,
        forward: {
          embedded: ['us-east'],
          load: { reportIntervalMs: 200 },
          listeners: [{ name: 'web', service: `www.${Z}`, listen: `127.0.0.1:${fwdPort}`, backends: { port: live } }],
        },
      },
    });
    base = `http://127.0.0.1:${node.apiPort}`;
    const created = await node.api('POST', '/v1/tokens', { name: 'wall', role: 'viewer' });
    assert.equal(created.status, 201, created.text);
    viewer = created.json.secret;
    // DNS queries, so the node's sample of recent clients (one service query in 16) holds 127.0.0.1.
    for (let i = 0; i < 64; i++) await udpQuery(node.host, node.port, encodeQuery(`www.${Z}`, 1, i));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(base + '/')) offsite.push(r.url());
    });
  });
  after(async () => {
    await browser?.close();
    await node?.stop();
    for (const c of sockets) c.destroy();
    backend?.close();
  });

  const stateOf = (sel: string) => page.locator(sel).getAttribute('data-state');

  it('serves the page with a strict CSP and refuses a bad token', async () => {
    const res = await page.goto(`${base}/ui/`);
    assert.equal(res?.status(), 200);
    const csp = res!.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline scripts');
    assert.match(csp, /style-src 'self'(;|$)/, 'no inline styles');
    assert.equal(res!.headers()['x-content-type-options'], 'nosniff');
    const js = await fetch(`${base}/ui/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
    // An icon the page names (no /favicon.ico 404 on each load), and a sign-in form that would POST:
    // with scripts off, the token never goes into a URL.
    assert.equal(await page.locator('link[rel="icon"]').getAttribute('href'), 'favicon.svg');
    assert.equal((await fetch(`${base}/ui/favicon.svg`)).status, 200);
    assert.equal(await page.locator('#login-form').getAttribute('method'), 'post');
    // The stream needs a token; a missing or bad one is 401 and the page stays on the sign-in form.
    assert.equal((await fetch(`${base}/ui/events`)).status, 401);
    // No HEAD twin holding a stream open: answered at once.
    assert.equal((await fetch(`${base}/ui/events`, { method: 'HEAD' })).status, 404);
    await page.fill('#token', 'mrd_not-a-token');
    await page.click('#login-form button');
    await page.locator('#login-error', { hasText: 'Refused' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#dashboard').isVisible(), false);
    assert.equal(await page.locator('#token').inputValue(), '', 'the field is emptied');
    assert.ok(!page.url().includes('mrd_'), 'no token in the URL');
  });

  it('loads with a viewer token: regions on the map, shares, and an override within the bound', async () => {
    await page.fill('#token', viewer);
    await page.click('#login-form button');
    // One endpoint of two is down: degraded, with the embedded vantage's vote on each endpoint.
    await page.locator('#map g[data-region="eu-west"][data-state="degraded"]').waitFor({ timeout: WAIT_MS });
    assert.equal(await stateOf('#regions tr[data-region="us-east"]'), 'up');
    await page.locator('#regions tr[data-region="eu-west"] li.endpoint', { hasText: 'web-2 down (probes, 0/1 up)' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#regions tr[data-region="eu-west"] li.vote-down', { hasText: 'embedded: down' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#regions tr[data-region="eu-west"] li.vote-up', { hasText: 'embedded: up' }).waitFor({ timeout: WAIT_MS });
    // Forwarder connections where known: us-east's embedded forwarder reports the client held open
    // through it; eu-west has no forwarder running, so none is known.
    const held = net.connect(fwdPort, '127.0.0.1');
    try {
      await page.locator('#regions tr[data-region="us-east"] td.forwarder', { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
    } finally {
      held.destroy();
    }
    assert.equal(await page.locator('#regions tr[data-region="eu-west"] td.forwarder').innerText(), '–');
    // failover eu-west first: the sampled client's answers all carry eu-west.
    await page.locator('#regions tr[data-region="eu-west"] td', { hasText: '100.0%' }).waitFor({ timeout: WAIT_MS });
    assert.ok(!page.url().includes(viewer), 'no token in the URL');

    const r = await node.api('PUT', '/v1/overrides/region/eu-west', { state: 'down', reason: 'ui drill' });
    assert.equal(r.status, 200, r.text);
    const t0 = Date.now();
    await page.locator('#map g[data-region="eu-west"][data-state="overridden"]').waitFor({ timeout: WAIT_MS });
    process.stderr.write(`dashboard: the override showed ${Date.now() - t0} ms after the API answered\n`);
    assert.equal(await stateOf('#regions tr[data-region="eu-west"]'), 'overridden');
    await page.locator('#regions tr[data-region="eu-west"]', { hasText: 'override by bootstrap: ui drill' }).waitFor({ timeout: WAIT_MS });
    // With eu-west forced down the answers move to us-east, and so does the share.
    await page.locator('#regions tr[data-region="us-east"] td', { hasText: '100.0%' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#timeline .event-override', { hasText: 'override.set region/eu-west down' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#timeline .event-flip', { hasText: 'region/eu-west: up → down (override)' }).waitFor({ timeout: WAIT_MS });
  });

  it('shows a new config version in the timeline and its diff on click', async () => {
    const w = await node.api('PUT', '/v1/regions/us-east/weight?reason=ui%20weight', { weight: 42 });
    assert.equal(w.status, 200, w.text);
    const button = page.locator(`#timeline button[data-version="${w.json.version}"]`);
    await button.waitFor({ timeout: WAIT_MS });
    await button.click();
    await page.locator('#diff-body', { hasText: '"/regions/1/weight"' }).waitFor({ timeout: WAIT_MS });
    assert.match(await page.locator('#diff-body').innerText(), /"after": 42/);
    await page.locator('#regions tr[data-region="us-east"] td', { hasText: /^42$/ }).first().waitFor({ timeout: WAIT_MS });

    // A click held across a refresh still opens its diff (the timeline used to be rebuilt at each
    // state, replacing the button between mouse-down and mouse-up). The refresh: a client held
    // through us-east's forwarder changes the state, and a new state is rendered while the button
    // is held.
    const earlier = page.locator(`#timeline button[data-version="${w.json.version - 1}"]`);
    const box = (await earlier.boundingBox())!;
    const status = await page.locator('#node-status').innerText();
    await page.mouse.move(box.x + 5, box.y + box.height / 2);
    await page.mouse.down();
    const through = net.connect(fwdPort, '127.0.0.1');
    try {
      await page.locator('#node-status', { hasNotText: status }).waitFor({ timeout: WAIT_MS });
    } finally {
      await page.mouse.up();
      through.destroy();
    }
    await page.locator('#diff-title', { hasText: `version ${w.json.version - 1}:` }).waitFor({ timeout: WAIT_MS });

    // An endpoint override shows in the timeline by itself, and its region is `overridden`.
    const e = await node.api('PUT', '/v1/overrides/endpoint/us-east/app', { state: 'down', reason: 'ui endpoint drill' });
    assert.equal(e.status, 200, e.text);
    await page.locator('#timeline .event-override', { hasText: 'override.set endpoint/us-east/app down' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#regions tr[data-region="us-east"][data-state="overridden"]', { hasText: 'endpoint override: app down by bootstrap: ui endpoint drill' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await node.api('DELETE', '/v1/overrides/endpoint/us-east/app?reason=done')).status, 200);

    // A region with more endpoints than the page lists: counts per state and only those not up.
    const before = await node.api('GET', '/v1/regions/us-east');
    assert.equal(before.status, 200, before.text);
    const { id: _id, ...usEast } = before.json as { id: string; endpoints: { id: string; address: string; port: number }[] };
    const many = [...usEast.endpoints, ...Array.from({ length: 24 }, (_, i) => ({ id: `spare-${i}`, address: '127.0.0.1', port: closed }))];
    const put = await node.api('PUT', '/v1/regions/us-east?reason=ui%20many', { ...usEast, endpoints: many });
    assert.equal(put.status, 200, put.text);
    const row = page.locator('#regions tr[data-region="us-east"]');
    await row.locator('.endpoint-summary', { hasText: '25 endpoints: 1 up, 24 down' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await row.locator('li.endpoint').count(), 20, 'the first 20 of the 24 down endpoints, not the up one');
    await row.locator('.endpoint-summary', { hasText: '4 more not shown' }).waitFor({ timeout: WAIT_MS });
    assert.equal((await node.api('PUT', '/v1/regions/us-east?reason=ui%20back', usEast)).status, 200);
  });

  it('explains a decision step by step, as the API returns it', async () => {
    const api = await node.api('GET', `/v1/explain?name=www.${Z}&ip=81.2.69.142`);
    assert.equal(api.status, 200, api.text);
    await page.fill('#explain-name', `www.${Z}`);
    await page.fill('#explain-ip', '81.2.69.142');
    await page.click('#explain-form button');
    await page.locator('#explain-result .steps li').first().waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await page.locator('#explain-result .steps li').allInnerTexts(), api.json.steps);
    assert.match(await page.locator('#explain-result .answer').innerText(), new RegExp(api.json.addresses[0].replace(/\./g, '\\.')));
  });

  it('had no CSP violation nor an off-site request, and the browser enforces the policy', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    assert.deepEqual(
      console.filter((m) => /Content Security Policy|Refused to|pageerror/i.test(m)),
      [],
    );
    assert.deepEqual(offsite, []);
    // The policy is live in this page: an inline script is blocked and reported.
    // (A string: the test is compiled without the DOM's types.)
    const blocked = await page.evaluate<string>(`new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.violatedDirective), { once: true });
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true';
      document.body.append(s);
      setTimeout(() => resolve(window.inlineRan ? 'ran' : 'no event'), 2000);
    })`);
    assert.match(blocked, /^script-src/);
  });

  it('logs out: back to the sign-in form, nothing shown', async () => {
    await page.click('#logout');
    await page.locator('#login').waitFor({ state: 'visible', timeout: WAIT_MS });
    assert.equal(await page.locator('#dashboard').isVisible(), false);
    assert.equal(await page.locator('#regions tbody tr').count(), 0);
  });

  it('a token revoked while the page is open ends the feed and signs out', async () => {
    await page.fill('#token', viewer);
    await page.click('#login-form button');
    await page.locator('#map g[data-region="us-east"]').waitFor({ timeout: WAIT_MS });
    assert.equal((await node.api('DELETE', '/v1/tokens/wall')).status, 200);
    await page.locator('#login-error', { hasText: 'no longer valid' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.locator('#dashboard').isVisible(), false);
  });
});
