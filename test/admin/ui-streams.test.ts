/**
 * The dashboard's event streams (`/ui/events`) against floods and slow readers, on a real
 * `meridian serve` over HTTP (fresh-eyes review of issue 19; bounds: src/admin/ui/streams.ts):
 * - 256 streams from one address used to be all accepted and, never displaced (each is a request in
 *   flight), locked the admin API: an operator's write failed with ECONNRESET. Now a stream over 8
 *   per token, 16 per address or 64 in all is refused with 429 MERIDIAN_ERR_TOO_MANY_STREAMS, and
 *   while the accepted ones are held an admin write and a request from another address succeed;
 * - a client that stops reading used to have every frame buffered for it (RSS 228 -> 423 MB in
 *   48 s with 3,000 endpoints). Now a stream whose write has not drained is sent nothing (counted in
 *   meridian_admin_ui_stream_frames_skipped_total), its buffered output stays about one frame, and
 *   the server ends it (meridian_admin_ui_streams_ended_total{reason="slow"}). Counted, not timed.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { freePort } from '../helpers/dnsproc.js';
import { until } from '../helpers/role.js';
import { UI_STREAMS_PER_ADDRESS, UI_STREAMS_PER_TOKEN, UI_STREAMS_TOTAL } from '../../src/admin/ui/streams.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
/** 6 regions of 500 endpoints nothing listens on, as the reviewer's 3,000: a state of several hundred KB, so a reader that stops fills the socket in a few frames. */
const regions = (closed: number) =>
  Array.from({ length: 6 }, (_, r) => ({
    id: `r${r}`,
    location: { lat: 10 * r, lon: 20 * r, continent: 'EU', country: 'IE' },
    addresses: { ipv4: [`192.0.2.${r + 1}`] },
    endpoints: Array.from({ length: 500 }, (_, e) => ({ id: `endpoint-${String(e).padStart(4, '0')}-of-a-region-with-a-long-name`, address: '127.0.0.1', port: closed })),
  }));

interface Opened {
  status: number;
  code: string | null;
  res: http.IncomingMessage | null;
  req: http.ClientRequest;
}

/** GET /ui/events with `token` from `from`; resolves with the status once the headers (and, if refused, the body) are in. */
function openStream(port: number, token: string, from: string): Promise<Opened> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ui/events', localAddress: from, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode === 200) {
        res.resume();
        return resolve({ status: 200, code: null, res, req });
      }
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? null, res: null, req }));
    });
    req.on('error', () => resolve({ status: 0, code: null, res: null, req }));
  });
}

function get(port: number, path: string, from: string, token?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress: from, agent: false, timeout: 10_000, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, text: '' }));
  });
}

/** One sample's value from a /metrics page, or null when the series is absent. */
function sample(page: string, series: string): number | null {
  const line = page.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? null : Number(line.slice(series.length + 1));
}

describe('/ui/events: bounded streams, backpressure', () => {
  let node: ApiNode;
  let metricsPort = 0;
  const held: Opened[] = [];
  const tokens: string[] = [];
  const metrics = async (): Promise<string> => (await get(metricsPort, '/metrics', '127.0.0.1')).text;

  before(async () => {
    const closed = await freePort();
    metricsPort = await freePort();
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        // Probed once a minute: the test is about the stream, not the probes.
        health: { probe: { intervalMs: 60_000, timeoutMs: 500, rise: 1, fall: 1 } },
        regions: regions(closed),
        services: [{ name: `www.${Z}`, ttl: 30, regions: ['r0', 'r1'], policy: { failover: ['r0', 'r1'] } }],
        metrics: { listen: `127.0.0.1:${metricsPort}` },
      },
    });
    for (let i = 0; i < UI_STREAMS_TOTAL / UI_STREAMS_PER_TOKEN + 1; i++) {
      const r = await node.api('POST', '/v1/tokens', { name: `wall-${i}`, role: 'viewer' });
      assert.equal(r.status, 201, r.text);
      tokens.push(r.json.secret as string);
    }
  });
  after(async () => {
    for (const h of held) h.req.destroy();
    await node?.stop();
  });

  test('streams over a bound get 429 MERIDIAN_ERR_TOO_MANY_STREAMS, and an operator write still succeeds while they are held', async () => {
    // The reviewer's flood: 256 streams of one token from one address.
    const flood = await Promise.all(Array.from({ length: 256 }, () => openStream(node.apiPort, tokens[0]!, '127.0.0.7')));
    const ok = flood.filter((o) => o.status === 200);
    held.push(...ok);
    assert.equal(ok.length, UI_STREAMS_PER_TOKEN, 'per token');
    assert.ok(
      flood.filter((o) => o.status !== 200).every((o) => o.status === 429 && o.code === 'MERIDIAN_ERR_TOO_MANY_STREAMS'),
      JSON.stringify(flood.filter((o) => o.status !== 200 && o.status !== 429).map((o) => o.status)),
    );
    // Another token from the same address: up to 16 there.
    const second = await Promise.all(Array.from({ length: UI_STREAMS_PER_TOKEN + 2 }, () => openStream(node.apiPort, tokens[1]!, '127.0.0.7')));
    held.push(...second.filter((o) => o.status === 200));
    assert.equal(second.filter((o) => o.status === 200).length, UI_STREAMS_PER_ADDRESS - UI_STREAMS_PER_TOKEN, 'per address');
    assert.ok(second.some((o) => o.status === 429 && o.code === 'MERIDIAN_ERR_TOO_MANY_STREAMS'));
    // Fill the total from other addresses (at most 16 each), then one more is refused.
    while (held.length < UI_STREAMS_TOTAL) {
      const from = `127.0.0.${8 + Math.floor((held.length - UI_STREAMS_PER_ADDRESS) / UI_STREAMS_PER_ADDRESS)}`;
      const o = await openStream(node.apiPort, tokens[Math.floor(held.length / UI_STREAMS_PER_TOKEN)]!, from);
      assert.equal(o.status, 200, `stream ${held.length + 1} from ${from}`);
      held.push(o);
    }
    const over = await openStream(node.apiPort, tokens[UI_STREAMS_TOTAL / UI_STREAMS_PER_TOKEN]!, '127.0.0.30');
    assert.deepEqual([over.status, over.code], [429, 'MERIDIAN_ERR_TOO_MANY_STREAMS'], 'in all');

    // The point: with every stream slot held, the operators still get in.
    const w = await node.api('PUT', '/v1/overrides/region/r1', { state: 'down', reason: 'emergency', for: '5m' });
    assert.equal(w.status, 200, w.text);
    assert.equal((await get(node.apiPort, '/v1/status', '127.0.0.31', tokens[0])).status, 200, 'a request from another address');
    assert.equal((await get(node.apiPort, '/v1/status', '127.0.0.7', tokens[0])).status, 200, 'a request from the flooding address');
    const page = await metrics();
    assert.equal(sample(page, 'meridian_admin_ui_streams_open'), UI_STREAMS_TOTAL);
    assert.ok((sample(page, 'meridian_admin_ui_streams_refused_total{limit="token"}') ?? 0) >= 256 - UI_STREAMS_PER_TOKEN, page);
    for (const h of held.splice(0)) h.req.destroy();
    await until(async () => sample(await metrics(), 'meridian_admin_ui_streams_open') === 0, 15_000, 'the streams closed');
  });

  test('a client that stops reading: frames skipped, buffered output about one frame, the stream ended', async () => {
    // A reader that keeps up, for the size of one frame.
    const reader = await openStream(node.apiPort, tokens[0]!, '127.0.0.1');
    const frame = await new Promise<number>((resolve) => {
      let text = '';
      reader.res!.on('data', (c: Buffer) => {
        text += c.toString();
        const end = text.indexOf('\n\n', text.indexOf('event: state'));
        if (text.includes('event: state') && end > 0) resolve(end - text.indexOf('event: state'));
      });
    });
    assert.ok(frame > 200_000, `a frame of ${frame} bytes`);
    // The slow one: reads the headers, then never again.
    const slow = net.connect({ host: '127.0.0.1', port: node.apiPort, localAddress: '127.0.0.8' });
    slow.on('error', () => undefined);
    slow.write(`GET /ui/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens[1]}\r\n\r\n`);
    await new Promise<void>((r) => slow.once('data', () => r()));
    slow.pause();
    // A new state each round (an override set and cleared), until the server has ended the slow stream.
    let maxBuffered = 0;
    let down = false;
    await until(
      async () => {
        down = !down;
        const r = down ? await node.api('PUT', '/v1/overrides/region/r2', { state: 'down', reason: 'churn' }) : await node.api('DELETE', '/v1/overrides/region/r2?reason=churn');
        assert.equal(r.status, 200, r.text);
        await new Promise((res) => setTimeout(res, 1100));
        const page = await metrics();
        maxBuffered = Math.max(maxBuffered, sample(page, 'meridian_admin_ui_stream_buffered_max_bytes') ?? 0);
        return (sample(page, 'meridian_admin_ui_streams_ended_total{reason="slow"}') ?? 0) >= 1;
      },
      60_000,
      'the slow stream ended',
    );
    const page = await metrics();
    assert.ok((sample(page, 'meridian_admin_ui_stream_frames_skipped_total') ?? 0) >= 1, page);
    assert.ok(maxBuffered <= 2 * frame, `buffered ${maxBuffered} bytes for a frame of ${frame}`);
    // The server let it go; the reader that keeps up is still open.
    assert.equal(sample(page, 'meridian_admin_ui_streams_open'), 1, page);
    // The reader that keeps up was never ended.
    assert.equal(reader.res!.destroyed, false);
    reader.req.destroy();
    slow.destroy();
  });
});
