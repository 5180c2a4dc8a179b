/**
 * TLS passthrough routed by SNI over real sockets: Node's TLS client connects through the
 * forwarder; the backend of the matching pool receives the untouched ClientHello (TLS is never
 * terminated), unmatched names and plain TCP take the default pool or are rejected, and a relayed
 * connection is routed by SNI in the receiving region too.
 */
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { describe, it, type TestContext } from 'node:test';
import { parseClientHello } from '../../src/forward/sni.js';
import { client, freePort, makeConfig, start, startBackend, until, webListener, type Backend } from './helpers.js';

/** A TLS ClientHello for `servername` sent to `port`; the handshake itself never completes. */
function hello(port: number, servername: string): () => void {
  const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
  s.on('error', () => undefined);
  return () => s.destroy();
}

function firstSni(b: Backend, i = 0): string | null {
  const r = parseClientHello(b.received[i] ?? Buffer.alloc(0));
  return r.kind === 'tls' ? r.serverName : null;
}

async function setup(t: TestContext, unmatched: 'default' | 'reject') {
  const api = await startBackend(() => undefined);
  const web = await startBackend(() => undefined);
  const { config, cleanup } = makeConfig([{ id: 'eu', backends: [api.port, web.port] }], {
    listeners: [
      webListener({
        backends: { ids: ['b1'] },
        sni: { routes: [{ names: ['api.example.com', '*.api.example.com'], backends: { ids: ['b0'] } }], unmatched, timeoutMs: 500 },
      }),
    ],
  });
  const fwd = await start(config, 'eu');
  t.after(async () => {
    await fwd.close();
    await api.close();
    await web.close();
    cleanup();
  });
  return { fwd, api, web, port: fwd.address('web')!.port };
}

describe('SNI routing (TLS passthrough)', () => {
  it('routes by server name, exact and wildcard', async (t) => {
    const { api, web, port } = await setup(t, 'default');
    const stops = [hello(port, 'api.example.com'), hello(port, 'v2.api.example.com'), hello(port, 'www.example.com')];
    await until(() => api.received.filter((b) => parseClientHello(b).kind === 'tls').length === 2 && web.received.filter((b) => parseClientHello(b).kind === 'tls').length === 1);
    assert.deepEqual([firstSni(api, 0), firstSni(api, 1)].sort(), ['api.example.com', 'v2.api.example.com']);
    assert.equal(firstSni(web), 'www.example.com');
    stops.forEach((s) => s());
  });

  it("the backend receives the client's ClientHello byte for byte", async (t) => {
    const { api, port } = await setup(t, 'default');
    // Capture a real ClientHello from Node's TLS client, then replay exactly those bytes.
    const capture = await startBackend(() => undefined);
    t.after(() => capture.close());
    const stop = hello(capture.port, 'api.example.com');
    await until(() => parseClientHello(capture.received[0] ?? Buffer.alloc(0)).kind === 'tls');
    stop();
    const bytes = capture.received[0]!;
    const c = await client(port);
    c.socket.write(bytes);
    await until(() => (api.received[0]?.length ?? 0) >= bytes.length);
    assert.ok(api.received[0]!.equals(bytes));
    c.socket.destroy();
  });

  it('plain TCP on an SNI listener goes to the default pool with its first bytes intact', async (t) => {
    const { web, port } = await setup(t, 'default');
    const c = await client(port);
    c.socket.write('GET / HTTP/1.1\r\n\r\n');
    await until(() => (web.received[0]?.length ?? 0) === 18);
    assert.equal(web.received[0]!.toString(), 'GET / HTTP/1.1\r\n\r\n');
    c.socket.destroy();
  });

  it('unmatched: reject closes names without a route, and plain TCP', async (t) => {
    const { fwd, api, web, port } = await setup(t, 'reject');
    const stop = hello(port, 'www.example.com');
    const c = await client(port);
    c.socket.write('GET / HTTP/1.1\r\n\r\n');
    await c.closed;
    await until(() => fwd.stats.listeners.web!.sniRejected === 2);
    assert.equal(web.sockets.length + api.sockets.length, 0);
    stop();
  });

  it('a ClientHello that never completes is cut off at the SNI timeout', async (t) => {
    const { fwd, port } = await setup(t, 'default');
    const c = await client(port);
    c.socket.write(Buffer.from([0x16, 3, 1, 0, 200, 1])); // a record that promises 200 bytes
    await c.closed;
    assert.equal(fwd.stats.listeners.web!.sniRejected, 1);
  });

  it('a relayed TLS connection is routed by SNI in the receiving region', async (t) => {
    const api = await startBackend(() => undefined);
    const web = await startBackend(() => undefined);
    const listener = webListener({ backends: { ids: ['b1'] }, sni: { routes: [{ names: ['api.example.com'], backends: { ids: ['b0'] } }] } });
    const { config, cleanup } = makeConfig(
      [
        { id: 'eu', backends: [await freePort(), await freePort()], relayPort: await freePort() },
        { id: 'us', backends: [api.port, web.port], relayPort: await freePort() },
      ],
      { listeners: [listener] },
    );
    const eu = await start(config, 'eu');
    const us = await start(config, 'us');
    t.after(async () => {
      await eu.close();
      await us.close();
      await api.close();
      await web.close();
      cleanup();
    });
    const stop = hello(eu.address('web')!.port, 'api.example.com');
    await until(() => parseClientHello(api.received[0] ?? Buffer.alloc(0)).kind === 'tls');
    assert.equal(firstSni(api), 'api.example.com');
    assert.equal(web.sockets.length, 0);
    assert.equal(us.stats.listeners.web!.relayedIn, 1);
    stop();
  });
});
