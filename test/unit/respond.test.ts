/**
 * Responder paths that the wire tables cannot reach with well-formed zone data: an internal fault
 * becomes SERVFAIL (never an exception to the socket), and the prepared-answer cache stays correct
 * when it is emptied at its bound or when zone data is swapped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyToName, type ZoneSet } from '../../src/dns/lookup.js';
import { Responder } from '../../src/dns/respond.js';
import { nameKey } from '../../src/dns/writer.js';
import { loadZoneText } from '../../src/zone/load.js';
import type { Zone } from '../../src/zone/zone.js';
import { decode, query } from '../helpers/client.js';

const ORIGIN = 'gslb.example.com.';
const zoneText = (extra = ''): string => `$ORIGIN ${ORIGIN}\n$TTL 60\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n${extra}`;

function zone(extra = ''): Zone {
  const z = loadZoneText(zoneText(extra), 'test.zone', ORIGIN);
  if (Array.isArray(z)) throw new Error(z.map((e) => e.reason).join('; '));
  return z;
}
const set = (z: Zone): ZoneSet => ({ byKey: new Map([[nameKey(z.origin), z]]), services: new Map() });
const opts = { udpSize: 1232, chaos: false, version: 'v', identity: 'i', cacheEntries: 2 };

test('an internal fault while preparing an answer is SERVFAIL and counted, not thrown', () => {
  const z = zone('bad A 192.0.2.9\n');
  // Corrupt compiled data behind the validator's back: the encoder must throw on it.
  const rdata = z.nodes.get('bad.' + ORIGIN)!.rrsets.get(1)!.rdatas[0] as { address: string };
  rdata.address = 'not-an-address';
  const r = new Responder(set(z), opts);
  const out = r.answer(query('bad.' + ORIGIN, 'A'), true);
  assert.ok(out);
  const m = decode(out);
  assert.equal(m.rcode, 'SERVFAIL');
  assert.equal(m.id, 4242);
  assert.equal(r.stats.internalErrors, 1);
  assert.equal(r.stats.servfail, 1);
  assert.equal(decode(r.answer(query('ns1.' + ORIGIN, 'A'), true)!).rcode, 'NOERROR', 'the next query is unaffected');
});

test('the prepared-answer cache is emptied at its bound and answers stay right', () => {
  const r = new Responder(set(zone('a A 192.0.2.10\nb A 192.0.2.11\nc A 192.0.2.12\n')), opts);
  for (let round = 0; round < 3; round++) {
    for (const [n, want] of [
      ['a', '192.0.2.10'],
      ['b', '192.0.2.11'],
      ['c', '192.0.2.12'],
    ]) {
      const m = decode(r.answer(query(`${n}.${ORIGIN}`, 'A'), true)!);
      assert.equal(m.answers[0]!.data, want, `${n} in round ${round}`);
    }
  }
});

test('setZones drops prepared answers of the old data', () => {
  const r = new Responder(set(zone('a A 192.0.2.10\n')), { ...opts, cacheEntries: 100 });
  assert.equal(decode(r.answer(query(`a.${ORIGIN}`, 'A'), true)!).answers[0]!.data, '192.0.2.10');
  r.setZones(set(zone('a A 192.0.2.99\n')));
  assert.equal(decode(r.answer(query(`a.${ORIGIN}`, 'A'), true)!).answers[0]!.data, '192.0.2.99');
});

test('keyToName escapes dots, backslashes and non-printable bytes inside labels', () => {
  const key = '\x03a.b' + '\x02\\\x01' + '\x02\x00\xff';
  assert.equal(keyToName(key), 'a\\.b.\\\\\\001.\\000\\255.');
  assert.equal(keyToName(''), '.');
});
