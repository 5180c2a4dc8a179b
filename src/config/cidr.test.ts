import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr } from './cidr.js';

test('networks and bare addresses parse; the block holds what it names', () => {
  for (const [text, inside, outside] of [
    ['10.0.0.0/8', '10.255.1.2', '11.0.0.0'],
    ['192.0.2.53', '192.0.2.53', '192.0.2.54'],
    ['0.0.0.0/0', '203.0.113.9', null],
    ['2001:db8::/32', '2001:db8:ffff::1', '2001:db9::'],
    ['2001:db8:0:100::/56', '2001:db8:0:1ff::1', '2001:db8:0:200::'],
    ['::ffff:192.0.2.0/120', '::ffff:192.0.2.7', '::ffff:192.0.3.0'],
  ] as const) {
    const c = parseCidr(text);
    assert.ok(typeof c !== 'string', `${text}: ${String(c)}`);
    const family = inside.includes(':') ? 'ipv6' : 'ipv4';
    assert.ok(c.list.check(inside, family), `${text} holds ${inside}`);
    if (outside) assert.ok(!c.list.check(outside, family), `${text} does not hold ${outside}`);
  }
  assert.equal((parseCidr('192.0.2.53') as { text: string }).text, '192.0.2.53/32');
});

test('host bits past the prefix are refused, naming the network and the host (as BIND does)', () => {
  assert.equal(parseCidr('10.0.0.1/8'), '"10.0.0.1/8" has host bits set past /8: write the network, 10.0.0.0/8, or the host, 10.0.0.1/32 (BIND refuses it too: address/prefix length mismatch)');
  assert.match(parseCidr('192.0.2.128/24') as string, /network, 192\.0\.2\.0\/24/);
  assert.match(parseCidr('2001:db8::1/64') as string, /network, 2001:db8::\/64, or the host, 2001:db8::1\/128/);
  assert.match(parseCidr('2001:db8:0:1ff::/56') as string, /network, 2001:db8:0:100::\/56/);
  assert.match(parseCidr('1.2.3.4/0') as string, /network, 0\.0\.0\.0\/0/);
});

test('scoped addresses and malformed text are refused', () => {
  assert.match(parseCidr('fe80::1%eth0') as string, /scoped IPv6 address: a zone id names a link/);
  assert.match(parseCidr('fe80::%eth0/64') as string, /scoped/);
  for (const bad of ['10.0.0.0/33', '2001:db8::/129', 'not-an-address', '10.0.0.0/8/8', '10.0.0.0/', '10.0.0.0/x']) assert.match(parseCidr(bad) as string, /is not an address or CIDR/, bad);
});
