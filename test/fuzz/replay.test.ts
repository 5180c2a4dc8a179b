/**
 * Deterministic replay of the seed corpus (BIND fuzz "non-fuzzing mode", PowerDNS standalone
 * runner): every test/fuzz/corpus/*.bin goes through `responder.answer()` for UDP and TCP and over a
 * real UDP socket. Properties (oracle.ts) hold for every file; files listed in corpus/expect.json
 * must also produce their recorded action. Regenerate seeds with test/fuzz/make-corpus.ts; add
 * crash inputs found by props.test.ts as new .bin files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { udpExchange } from '../helpers/client.js';
import * as P from '../helpers/packets.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { checkResponse, trackUnhandled } from './oracle.js';

interface Expect {
  action: string;
  tc?: boolean;
  todo?: string;
}
const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 9: 'NOTAUTH', 16: 'BADVERS' };

const dir = new URL('./corpus/', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bin'))
  .sort();
const expectations = JSON.parse(readFileSync(new URL('expect.json', dir), 'utf8')) as Record<string, Expect>;

const action = (res: Buffer | null): string => (res === null ? 'drop' : (RCODE_NAMES[P.fullRcode(res)] ?? `rcode ${P.fullRcode(res)}`));

describe('fuzz corpus replay', () => {
  let srv: TestServer;
  const unhandled = trackUnhandled();
  before(async () => {
    srv = await startTestServer();
  });
  after(async () => {
    unhandled.dispose();
    await srv.stop();
  });

  it('the corpus holds the 5 PowerDNS raw-dns-packets shapes and every expect.json entry exists', () => {
    for (const shape of ['pdns-basic', 'pdns-ecs', 'pdns-powerdns-ds', 'pdns-powerdns-referral-com', 'pdns-root-ns-answer']) {
      assert.ok(files.includes(`${shape}.bin`), shape);
    }
    for (const f of Object.keys(expectations)) assert.ok(files.includes(f), `${f} listed in expect.json but missing`);
    assert.ok(files.length >= 40, `${files.length} seeds`);
  });

  for (const file of files) {
    const want = expectations[file];
    it(file, want?.todo ? { todo: want.todo } : {}, async () => {
      const msg = readFileSync(new URL(file, dir));
      const r = srv.node.responder;
      let udp: Buffer | null = null;
      let tcp: Buffer | null = null;
      assert.doesNotThrow(() => {
        udp = r.answer(msg, true);
        tcp = r.answer(msg, false);
      });
      checkResponse(msg, udp, 'udp');
      checkResponse(msg, tcp, 'tcp');
      assert.equal(action(tcp), action(udp), 'UDP and TCP take the same action');
      if (want) {
        assert.equal(action(udp), want.action, 'recorded action');
        if (udp) assert.equal(P.readHeader(udp).tc, want.tc ?? false, 'TC over UDP');
      }
      const wire = await udpExchange(srv.port, msg, { timeoutMs: udp ? 1000 : 200 });
      assert.deepEqual(wire, udp, 'the socket sends exactly what answer() returns');
    });
  }

  it('no unhandled rejections during the replay', () => {
    assert.deepEqual(unhandled.errors, []);
  });
});
