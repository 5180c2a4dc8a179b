import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unusableAddress } from './usable.js';

test('unusable answer and endpoint addresses', () => {
  for (const a of ['0.0.0.0', '0.1.2.3', '255.255.255.255', '224.0.0.1', '239.255.255.255', '::', 'ff02::1', 'ff0e::1', '::ffff:0.0.0.0', '::ffff:224.0.0.1', 'fe80::1%eth0']) {
    assert.ok(unusableAddress(a), a);
  }
  for (const a of ['192.0.2.1', '1.0.0.0', '223.255.255.255', '240.0.0.1', '255.255.255.254', '::1', '2001:db8::1', 'fe80::1', 'fe00::1', '127.0.0.1']) {
    assert.equal(unusableAddress(a), null, a);
  }
});
