/**
 * The ClientHello parser: a table of built hellos (SNI present, absent, split across records),
 * every truncation of a real hello, and garbage; plus Node's own TLS client as an independent
 * oracle of what a real ClientHello looks like.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseClientHello, sniMatches, type SniResult } from './sni.js';

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function ext(type: number, body: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(body.length), body]);
}

function sniExt(...names: string[]): Buffer {
  const entries = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([0]), u16(n.length), Buffer.from(n, 'latin1')])));
  return ext(0, Buffer.concat([u16(entries.length), entries]));
}

/** A ClientHello handshake message (type + 3-byte length + body). */
function hello(extensions: Buffer[] | null, sessionId = 32): Buffer {
  const parts = [Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([sessionId]), Buffer.alloc(sessionId, 1), u16(4), Buffer.from([0x13, 0x01, 0x13, 0x02]), Buffer.from([1, 0])];
  if (extensions) {
    const all = Buffer.concat(extensions);
    parts.push(u16(all.length), all);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
}

/** Wraps a handshake message into TLS records of at most `size` bytes each. */
function records(hs: Buffer, size = 16_384): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < hs.length; i += size) {
    const frag = hs.subarray(i, i + size);
    out.push(Buffer.from([0x16, 3, 1]), u16(frag.length), frag);
  }
  return Buffer.concat(out);
}

/** Adds `delta` to the extensions length field (offset: 4 header + 2 + 32 + 1 + 32 + 2 + 4 + 2). */
function withExtLength(hs: Buffer, delta: number): Buffer {
  const b = Buffer.from(hs);
  b.writeUInt16BE(b.readUInt16BE(79) + delta, 79);
  return b;
}

const basic = records(hello([ext(0x000a, Buffer.from([0, 2, 0, 0x1d])), sniExt('API.Example.com'), ext(0x002b, Buffer.from([2, 3, 4]))]));

describe('parseClientHello', () => {
  const cases: { name: string; input: Buffer; want: SniResult }[] = [
    { name: 'SNI among other extensions, case folded', input: basic, want: { kind: 'tls', serverName: 'api.example.com' } },
    { name: 'no server_name extension', input: records(hello([ext(0x000a, Buffer.from([0, 2, 0, 0x1d]))])), want: { kind: 'tls', serverName: null } },
    { name: 'no extensions at all', input: records(hello(null)), want: { kind: 'tls', serverName: null } },
    { name: 'trailing dot is dropped', input: records(hello([sniExt('www.example.com.')])), want: { kind: 'tls', serverName: 'www.example.com' } },
    { name: 'hello split over three records', input: records(hello([sniExt('split.example')]), 20), want: { kind: 'tls', serverName: 'split.example' } },
    {
      name: 'application data after the hello is ignored',
      input: Buffer.concat([records(hello([sniExt('a.example')])), Buffer.from([0x17, 3, 3, 0, 1, 0])]),
      want: { kind: 'tls', serverName: 'a.example' },
    },
    { name: 'empty input: need more', input: Buffer.alloc(0), want: { kind: 'need-more' } },
    { name: 'HTTP request', input: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), want: { kind: 'not-tls' } },
    { name: 'SSH banner', input: Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), want: { kind: 'not-tls' } },
    { name: 'record version 2.0', input: Buffer.from([0x16, 2, 0, 0, 4, 1, 0, 0, 0]), want: { kind: 'invalid', reason: 'record version 2.0' } },
    { name: 'record length 0', input: Buffer.from([0x16, 3, 1, 0, 0]), want: { kind: 'invalid', reason: 'record length 0' } },
    { name: 'record over 2^14', input: Buffer.from([0x16, 3, 1, 0x40, 0x01]), want: { kind: 'invalid', reason: 'record length 16385' } },
    { name: 'ServerHello instead of ClientHello', input: records(Buffer.from([2, 0, 0, 2, 3, 3])), want: { kind: 'invalid', reason: 'first handshake message is type 2, not ClientHello' } },
    {
      name: 'alert record in the middle',
      input: Buffer.concat([records(hello([sniExt('a.b')]), 20).subarray(0, 25), Buffer.from([0x15, 3, 3, 0, 2, 2, 40])]),
      want: { kind: 'invalid', reason: 'ClientHello interrupted by a non-handshake record' },
    },
    { name: 'odd cipher suites length', input: records(Buffer.from([1, 0, 0, 37, 3, 3, ...Buffer.alloc(32), 0, 0, 1])), want: { kind: 'invalid', reason: 'odd cipher suites length' } },
    {
      name: 'extensions length one more than present',
      input: records(withExtLength(hello([sniExt('a.b')]), 1)),
      want: { kind: 'invalid', reason: 'extensions length does not match the ClientHello' },
    },
    {
      name: 'session id longer than the hello',
      input: records(Buffer.from([1, 0, 0, 36, 3, 3, ...Buffer.alloc(32), 200, 0])),
      want: { kind: 'invalid', reason: 'ClientHello truncated before cipher suites' },
    },
    { name: 'two server_name extensions', input: records(hello([sniExt('a.b'), sniExt('c.d')])), want: { kind: 'invalid', reason: 'two server_name extensions' } },
    { name: 'server name with a space', input: records(hello([sniExt('bad name')])), want: { kind: 'invalid', reason: 'server name is not a host name' } },
    { name: 'empty server name', input: records(hello([sniExt('')])), want: { kind: 'invalid', reason: 'server name is not a host name' } },
    { name: 'declared 16 MiB hello', input: records(Buffer.from([1, 0xff, 0xff, 0xff, 3, 3])), want: { kind: 'invalid', reason: 'ClientHello too large' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(parseClientHello(c.input), c.want);
    });
  }

  it('every proper prefix of a hello is need-more, never an error or a name', () => {
    for (const input of [basic, records(hello([sniExt('split.example')]), 20)]) {
      for (let n = 0; n < input.length; n++) assert.deepEqual(parseClientHello(input.subarray(0, n)), { kind: 'need-more' }, `prefix ${n}`);
    }
  });

  it('a handshake length that disagrees with the body is invalid, not a crash', () => {
    const hs = hello([sniExt('a.b')]);
    const lying = Buffer.from(hs);
    lying[3] = lying[3]! - 4; // claims 4 bytes fewer: the extensions block overruns it
    assert.equal(parseClientHello(records(lying)).kind, 'invalid');
  });

  it('random bytes after a handshake record header never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        const input = Buffer.concat([Buffer.from([0x16, 3, 1, (bytes.length >> 8) & 255, bytes.length & 255]), Buffer.from(bytes)]);
        const r = parseClientHello(input);
        assert.ok(['need-more', 'tls', 'invalid'].includes(r.kind));
      }),
      { numRuns: 2_000 },
    );
  });

  it("reads the SNI of Node's own TLS client (independent oracle)", async () => {
    const server = createServer();
    const got = new Promise<Buffer>((resolve) => {
      server.on('connection', (s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (parseClientHello(buf).kind !== 'need-more') {
            resolve(buf);
            s.destroy();
          }
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = tlsConnect({ host: '127.0.0.1', port, servername: 'Oracle.Example.NET', rejectUnauthorized: false });
    client.on('error', () => undefined);
    const bytes = await got;
    client.destroy();
    server.close();
    assert.deepEqual(parseClientHello(bytes), { kind: 'tls', serverName: 'oracle.example.net' });
  });
});

describe('sniMatches', () => {
  const table: [string, string, boolean][] = [
    ['api.example.com', 'api.example.com', true],
    ['api.example.com', 'www.example.com', false],
    ['*.example.com', 'www.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
  ];
  for (const [pattern, name, want] of table) it(`${pattern} ~ ${name}: ${want}`, () => assert.equal(sniMatches(pattern, name), want));
});
