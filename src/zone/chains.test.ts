import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cnameChainWarnings, MAX_CNAME_CHAIN } from './chains.js';

const chain = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`c${i}.`, `c${i + 1}.`]);
const codes = (m: [string, string][]): string[] => cnameChainWarnings(new Map(m)).map((w) => `${w.reason.split(':')[0]} ${w.owners[0]}`);

test('cname chains: loops once each, overlong chains at their head, short ones and tails into a loop are fine', () => {
  assert.deepEqual(codes([]), []);
  assert.deepEqual(codes([['a.', 'b.']]), []);
  assert.deepEqual(codes([['a.', 'a.']]), ['MERIDIAN_WARN_CNAME_LOOP a.']);
  assert.deepEqual(
    codes([
      ['x.', 'a.'],
      ['a.', 'b.'],
      ['b.', 'a.'],
    ]),
    ['MERIDIAN_WARN_CNAME_LOOP a.'],
  );
  // resolve.ts visits MAX_CNAME_CHAIN names: 15 CNAMEs still reach the data, 16 do not.
  assert.deepEqual(codes(chain(MAX_CNAME_CHAIN - 1)), []);
  assert.deepEqual(codes(chain(MAX_CNAME_CHAIN)), ['MERIDIAN_WARN_CNAME_CHAIN c0.']);
});
