/**
 * Regression (issue 16, defect 1): a flood of idle connections to one forwarder listener used up
 * the process's file descriptors (each relayed connection holds two), so DNS over TCP stopped,
 * the in-process probes failed, the region went down and the service answered SERVFAIL.
 *
 * A real `meridian serve` with its region's forwarder embedded runs under a low fd limit
 * (`prlimit --nofile`); the test opens more idle connections to the forwarder listener than the
 * process has fds, then checks what a client sees: DNS over UDP and TCP answer with the region's
 * address, the probes keep passing (counted on /metrics: new `ok` checks, no `fail`), and the
 * flood was refused at the budget, as /metrics says.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { encodeQuery, freePort, startMeridian, udpQuery } from '../helpers/dnsproc.js';

const ZONE = '$ORIGIN gslb.example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n';
/** The serve process's fd limit: small, so the flood is small too. */
const FD_LIMIT = 320;
/** More connections than the process has fds. */
const FLOOD = 400;

/** Region eu (one backend, probed over TCP) for www, its forwarder embedded with one listener `web` (plus `listener` keys). */
function embedded(backendPort: number, webPort: number, listener: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    regions: [
      {
        id: 'eu',
        location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' },
        addresses: { ipv4: ['192.0.2.10'] },
        endpoints: [{ id: 'b0', address: '127.0.0.1', port: backendPort, check: { type: 'tcp' } }],
      },
    ],
    services: [{ name: 'www.gslb.example.com', regions: ['eu'], policy: { failover: ['eu'] } }],
    forward: { embedded: ['eu'], drainDeadlineMs: 0, listeners: [{ name: 'web', service: 'www.gslb.example.com', listen: `127.0.0.1:${webPort}`, ...listener }] },
  };
}

/** The rcode and first A record of a DNS response. */
function answerOf(msg: Buffer | null): { rcode: number; a: string | null } | null {
  if (!msg || msg.length < 12) return null;
  const rcode = msg[3]! & 0x0f;
  const ancount = msg.readUInt16BE(6);
  if (ancount === 0) return { rcode, a: null };
  // Skip the question (name + type + class), then the answer's name (a pointer), type, class, ttl, rdlength.
  let i = 12;
  while (msg[i]! !== 0) i += msg[i]! + 1;
  i += 5;
  i += 2 + 2 + 2 + 4 + 2;
  return { rcode, a: [...msg.subarray(i, i + 4)].join('.') };
}

/** One DNS query over TCP; null when the server does not answer (refused, closed, timeout). */
function tcpQuery(port: number, q: Buffer, timeoutMs = 3_000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const done = (v: Buffer | null): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    s.on('error', () => done(null));
    s.on('close', () => done(null));
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q])));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(got.subarray(2, 2 + got.readUInt16BE(0)));
    });
  });
}

async function scrape(port: number): Promise<string | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3_000) });
    return await res.text();
  } catch {
    return null;
  }
}

/** The sum of a metric's series whose labels include every `label="value"` given. */
function metric(text: string | null, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const line of (text ?? '').split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (labels.every((l) => line.includes(l))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** A backend that says 'hi' on every connection; resolves its port. */
async function helloBackend(t: TestContext): Promise<number> {
  const backend: Server = createServer((s) => {
    s.on('error', () => undefined);
    s.write('hi');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  // Not awaited: its connections end when the node under test stops, in a later hook.
  t.after(() => void backend.close());
  return (backend.address() as { port: number }).port;
}

/**
 * `greet(from)`: a connection to `port` from that address, resolving 'hi' once the backend speaks
 * through it, or how it ended without. `open`: every socket, in order; all closed after the test.
 */
function greeter(t: TestContext, port: number): { greet(from: string): Promise<string>; open: Socket[] } {
  const open: Socket[] = [];
  t.after(() => open.forEach((s) => s.destroy()));
  const greet = (from: string): Promise<string> =>
    new Promise((resolve) => {
      const s = connect({ port, host: '127.0.0.1', localAddress: from });
      open.push(s);
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      s.once('data', (d: Buffer) => resolve(d.toString()));
      s.once('close', () => resolve('closed without data'));
    });
  return { greet, open };
}

describe('forwarder: the fd budget', () => {
  it('keeps DNS over UDP and TCP and the probes working under a connection flood past the fd limit', { timeout: 120_000 }, async (t) => {
    const held: Socket[] = [];
    const backend: Server = createServer((s) => {
      held.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const backendPort = (backend.address() as { port: number }).port;
    const [webPort, metricsPort] = [await freePort(), await freePort()];
    const srv = await startMeridian({
      zones: [{ origin: 'gslb.example.com', text: ZONE }],
      wrap: ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--'],
      dns: { tcp: { idleTimeoutMs: 10_000, ioTimeoutMs: 2_000, maxConnections: 16 } },
      extra: {
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        health: { probe: { intervalMs: 200, timeoutMs: 200, rise: 1, fall: 2 } },
        // The flood comes from one address: no per-source limit, so it reaches the budget.
        ...embedded(backendPort, webPort, { maxConnectionsPerSource: 0 }),
      },
      readyTimeoutMs: 30_000,
    });
    const flood: Socket[] = [];
    t.after(async () => {
      for (const s of flood) s.destroy();
      await srv.stop();
      for (const s of held) s.destroy();
      await new Promise<void>((r) => backend.close(() => r()));
    });
    const q = encodeQuery('www.gslb.example.com', 1);
    assert.deepEqual(answerOf(await udpQuery(srv.host, srv.port, q, 2_000)), { rcode: 0, a: '192.0.2.10' }, 'answers before the flood');

    // The flood: idle connections, opened a few dozen at a time, each kept open whatever the server does.
    let settled = 0;
    for (let i = 0; i < FLOOD; i += 40) {
      await Promise.all(
        Array.from({ length: Math.min(40, FLOOD - i) }, () => {
          const s = connect(webPort, '127.0.0.1');
          flood.push(s);
          s.on('error', () => undefined);
          return new Promise<void>((r) => {
            s.once('connect', () => r());
            s.once('close', () => r());
          }).then(() => void settled++);
        }),
      );
    }
    assert.equal(settled, FLOOD);

    // Probes keep passing: at least `fall` + 1 new successful checks after the flood, and none failed.
    const before = await scrape(metricsPort);
    assert.ok(before !== null, 'the metrics endpoint answers during the flood');
    const okBefore = metric(before, 'meridian_probe_check_duration_seconds_count', 'result="ok"');
    const deadline = Date.now() + 30_000;
    let after: string | null = before;
    while (metric(after, 'meridian_probe_check_duration_seconds_count', 'result="ok"') < okBefore + 3) {
      assert.ok(Date.now() < deadline, 'new probe checks succeed during the flood');
      await sleep(100);
      after = await scrape(metricsPort);
    }
    assert.equal(metric(after, 'meridian_probe_check_duration_seconds_count', 'result="fail"'), 0, 'no probe check failed');
    assert.equal(metric(after, 'meridian_health_endpoint_up', 'endpoint="b0"'), 1, 'the backend is up');

    // DNS answers the region's address over UDP and over TCP (not SERVFAIL, not silence).
    assert.deepEqual(answerOf(await udpQuery(srv.host, srv.port, q, 2_000)), { rcode: 0, a: '192.0.2.10' }, 'UDP during the flood');
    assert.deepEqual(answerOf(await tcpQuery(srv.port, q)), { rcode: 0, a: '192.0.2.10' }, 'TCP during the flood');

    t.diagnostic(
      ['limit', 'reserve', 'connections', 'in_use', 'lingering'].map((k) => `${k}=${metric(after, 'meridian_forward_fd_budget', `kind="${k}"`)}`).join(' ') +
        ` refused_budget=${metric(after, 'meridian_forward_connections_total', 'outcome="refused_budget"')} refused_cap=${metric(after, 'meridian_forward_connections_total', 'outcome="refused_cap"')}` +
        ` open_fds=${metric(after, 'meridian_process_open_fds')}`,
    );
    // The flood was refused at the budget, and the process's fds stay below its limit.
    const refused = metric(after, 'meridian_forward_connections_total', 'outcome="refused_budget"') + metric(after, 'meridian_forward_connections_total', 'outcome="refused_cap"');
    assert.ok(refused > 0, 'connections past the budget are refused and counted');
    const budget = metric(after, 'meridian_forward_fd_budget', 'kind="connections"');
    assert.ok(budget > 0 && 2 * budget < FD_LIMIT, `a relayed-connection budget below the fd limit (${budget})`);
    assert.equal(metric(after, 'meridian_forward_fd_budget', 'kind="limit"'), FD_LIMIT, 'the fd limit read at start');
    assert.ok(metric(after, 'meridian_process_open_fds') < FD_LIMIT, 'fds in use stay below the limit');
  });

  it('refuses a connection past maxConnectionsPerSource from that address only, and counts it', { timeout: 60_000 }, async (t) => {
    const backendPort = await helloBackend(t);
    const [webPort, metricsPort] = [await freePort(), await freePort()];
    const srv = await startMeridian({
      zones: [{ origin: 'gslb.example.com', text: ZONE }],
      extra: {
        metrics: { listen: `127.0.0.1:${metricsPort}` },
        ...embedded(backendPort, webPort, { maxConnectionsPerSource: 3 }),
      },
    });
    t.after(() => srv.stop());
    const { greet, open } = greeter(t, webPort);
    for (let i = 0; i < 3; i++) assert.equal(await greet('127.0.0.1'), 'hi', `connection ${i + 1} from 127.0.0.1`);
    assert.equal(await greet('127.0.0.1'), 'closed without data', 'the fourth from the same address is refused');
    assert.equal(await greet('127.0.0.2'), 'hi', 'another address is served');
    const text = await scrape(metricsPort);
    assert.equal(metric(text, 'meridian_forward_connections_total', 'outcome="refused_source"'), 1);
    // The limit counts open connections: one closed from 127.0.0.1 makes room for the next.
    open[0]!.destroy();
    const deadline = Date.now() + 10_000;
    let got = await greet('127.0.0.1');
    while (got !== 'hi') {
      assert.ok(Date.now() < deadline, 'room again after a connection closed');
      await sleep(50);
      got = await greet('127.0.0.1');
    }
  });

  it('under ulimit -n 1024 one address gets at most a quarter of a listener, by default; another is still served', { timeout: 60_000 }, async (t) => {
    // Two listeners, an admin API and /metrics under 1024 descriptors: each listener's share of the
    // budget is about 130 connections, under the old fixed default of 256 per source, so one
    // address could take a whole listener.
    const backendPort = await helloBackend(t);
    const [webPort, otherPort, metricsPort, adminPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const config = embedded(backendPort, webPort);
    const forward = config.forward as { listeners: Record<string, unknown>[] };
    forward.listeners.push({ ...forward.listeners[0], name: 'other', listen: `127.0.0.1:${otherPort}` });
    const srv = await startMeridian({
      zones: [{ origin: 'gslb.example.com', text: ZONE }],
      wrap: ['bash', '-c', 'ulimit -n 1024 && exec "$0" "$@"'],
      dns: { tcp: { maxConnections: 16 } },
      extra: { ...config, metrics: { listen: `127.0.0.1:${metricsPort}` }, admin: { listen: `127.0.0.1:${adminPort}` } },
    });
    t.after(() => srv.stop());
    const { greet } = greeter(t, webPort);
    let served = 0;
    while (served < 300 && (await greet('127.0.0.7')) === 'hi') served++;
    assert.equal(await greet('127.0.0.8'), 'hi', 'another address is served while the first holds all it may');
    const text = await scrape(metricsPort);
    assert.equal(metric(text, 'meridian_forward_fd_budget', 'kind="limit"'), 1024);
    const cap = metric(text, 'meridian_forward_listener_limit', 'listener="web"', 'kind="cap"');
    const perSource = metric(text, 'meridian_forward_listener_limit', 'listener="web"', 'kind="per_source"');
    t.diagnostic(`cap=${cap} per_source=${perSource} served from one address=${served}`);
    assert.ok(cap > 0 && cap < 256, `a listener's share under 1024 fds is below the old default (${cap})`);
    assert.equal(perSource, Math.floor(cap / 4), 'the default is a quarter of the cap');
    assert.equal(served, perSource, 'one address got exactly its limit');
    assert.equal(metric(text, 'meridian_forward_connections_total', 'listener="web"', 'outcome="refused_source"'), 1);
  });

  it('refuses to start with a listener cap over the fd budget (coded config error)', { timeout: 60_000 }, async () => {
    const webPort = await freePort();
    await assert.rejects(
      startMeridian({
        zones: [{ origin: 'gslb.example.com', text: ZONE }],
        wrap: ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--'],
        dns: { tcp: { maxConnections: 16 } },
        extra: {
          ...embedded(await freePort(), webPort, { maxConnections: 5_000 }),
        },
      }),
      (err: Error) => {
        assert.match(err.message, /exited before ready \(code 1/);
        assert.match(err.message, /MERIDIAN_ERR_INVALID_CONFIG: forward\.listeners\[0\]\.maxConnections: 5000 is over the fd budget/);
        return true;
      },
    );
  });
});
