import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { test } from 'node:test';
import { unusableAddress } from './usable.js';

test('unusable answer and endpoint addresses', () => {
  for (const a of [
    '0.0.0.0',
    '0.1.2.3',
    '255.255.255.255',
    '224.0.0.1',
    '239.255.255.255',
    '::',
    'ff02::1',
    'ff0e::1',
    '::ffff:0.0.0.0',
    '::ffff:224.0.0.1',
    'fe80::1%eth0',
    '240.0.0.1',
    '254.1.2.3',
    'fe80::1',
    'febf::1',
  ]) {
    assert.ok(unusableAddress(a), a);
  }
  for (const a of ['192.0.2.1', '1.0.0.0', '223.255.255.255', '100.64.0.1', '::1', '2001:db8::1', 'fec0::1', 'fe00::1', '127.0.0.1']) {
    assert.equal(unusableAddress(a), null, a);
  }
});

test('IPv4 addresses are judged without a BlockList check (issue 17: a 10,000-endpoint compile made 10,000 of them), and the same as one', () => {
  const reference = new BlockList();
  reference.addSubnet('0.0.0.0', 8, 'ipv4');
  reference.addAddress('255.255.255.255', 'ipv4');
  reference.addSubnet('224.0.0.0', 4, 'ipv4');
  reference.addSubnet('240.0.0.0', 4, 'ipv4');
  const addresses = Array.from({ length: 2_000 }, (_, i) => (i < 16 ? `${[0, 223, 224, 239, 240, 255][i % 6]}.${i}.0.1` : `${(i * 97) % 256}.${(i * 31) % 256}.${(i * 7) % 256}.${i % 256}`));
  addresses.push('255.255.255.255', '255.255.255.254', '0.0.0.0');
  const expected = addresses.map((a) => reference.check(a, 'ipv4'));
  const check = BlockList.prototype.check;
  let checks = 0;
  BlockList.prototype.check = function (this: BlockList, address: string, type?: 'ipv4' | 'ipv6') {
    checks++;
    return check.call(this, address, type);
  } as typeof check;
  try {
    const judged = addresses.map((a) => unusableAddress(a) !== null);
    assert.equal(checks, 0, 'BlockList checks for IPv4 addresses');
    assert.deepEqual(judged, expected);
  } finally {
    BlockList.prototype.check = check;
  }
  assert.ok(unusableAddress('::ffff:224.0.0.1'), 'IPv6 still goes through the BlockList');
});
