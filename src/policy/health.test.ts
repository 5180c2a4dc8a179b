/**
 * The health step and the all-down policies, through whole chains: which regions survive, and
 * what is answered when none does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDown } from './alldown.js';
import { ALL, ctx, decide, health } from './testkit.js';

const ids = ALL.map((r) => r.id);
type S = Record<string, 'up' | 'down' | 'drained'>;

const cases: { name: string; states: S; down?: Record<string, string[]>; allDown?: unknown; family?: 4 | 6; want: string[]; allDownFlag?: boolean; servfail?: boolean }[] = [
  { name: 'all up: first in order', states: {}, want: ['192.0.2.1'] },
  { name: 'down region skipped', states: { 'us-east': 'down' }, want: ['192.0.2.2'] },
  { name: 'drained region skipped', states: { 'us-east': 'drained' }, want: ['192.0.2.2'] },
  { name: 'region whose only address is down counts as down', states: {}, down: { 'us-east': ['192.0.2.1'] }, want: ['192.0.2.2'] },
  { name: 'AAAA: region without IPv6 is no candidate', states: { 'us-east': 'down', 'eu-west': 'down' }, family: 6, want: ['2001:db8:1::1'], allDownFlag: true },
  { name: 'all down, failopen: answer as if healthy (first in order)', states: { 'us-east': 'down', 'eu-west': 'down', 'ap-southeast': 'down' }, want: ['192.0.2.1'], allDownFlag: true },
  { name: 'all down or drained, failopen skips the drained', states: { 'us-east': 'drained', 'eu-west': 'down', 'ap-southeast': 'down' }, want: ['192.0.2.2'], allDownFlag: true },
  { name: 'all drained, failopen uses them anyway', states: { 'us-east': 'drained', 'eu-west': 'drained', 'ap-southeast': 'drained' }, want: ['192.0.2.1'], allDownFlag: true },
  {
    name: 'all down, fallback region',
    states: { 'us-east': 'down', 'eu-west': 'down', 'ap-southeast': 'down' },
    allDown: { mode: 'fallback', region: 'ap-southeast' },
    want: ['192.0.2.3'],
    allDownFlag: true,
  },
  { name: 'all down, servfail', states: { 'us-east': 'down', 'eu-west': 'down', 'ap-southeast': 'down' }, allDown: { mode: 'servfail' }, want: [], allDownFlag: true, servfail: true },
  { name: 'failopen ignores address health too', states: { 'us-east': 'down', 'eu-west': 'down', 'ap-southeast': 'down' }, down: { 'us-east': ['192.0.2.1'] }, want: ['192.0.2.1'], allDownFlag: true },
];

for (const c of cases) {
  test(`health: ${c.name}`, () => {
    const r = decide({ failover: ['us-east', 'eu-west', 'ap-southeast'] }, ctx({ health: health(c.states, c.down ?? {}), qfamily: c.family ?? 4 }), { allDown: c.allDown });
    assert.deepEqual(r.addresses, c.want);
    assert.equal(r.state.allDown, c.allDownFlag ?? false);
    assert.equal(r.state.servfail, c.servfail ?? false);
  });
}

test('health: no region has addresses of the family -> NODATA, not all-down', () => {
  const r = decide({ failover: ['ap-southeast'] }, ctx({ qfamily: 6 }), { regions: [ALL[2]!] });
  assert.deepEqual(r.addresses, []);
  assert.equal(r.state.allDown, false);
});

test('health: explain trace names the excluded regions and the all-down policy', () => {
  const c = ctx({ health: health({ 'us-east': 'down', 'eu-west': 'down', 'ap-southeast': 'down' }) });
  decide({}, c, { allDown: { mode: 'fallback', region: 'eu-west' } });
  assert.ok(
    c.trace!.some((l) => /us-east=down \(excluded\)/.test(l)),
    c.trace!.join('\n'),
  );
  assert.ok(
    c.trace!.some((l) => /all-down policy fallback: eu-west/.test(l)),
    c.trace!.join('\n'),
  );
});

for (const [json, want] of [
  [{ mode: 'panic' }, /mode must be failopen, fallback or servfail/],
  [{ mode: 'fallback' }, /allDown.region must be one of the service regions/],
  [{ mode: 'fallback', region: 'mars' }, /must be one of the service regions/],
  [{ mode: 'servfail', region: 'us-east' }, /only for mode fallback/],
  [{ mode: 'failopen', extra: 1 }, /unknown key "extra"/],
] as [unknown, RegExp][]) {
  test(`allDown: rejects ${JSON.stringify(json)}`, () => assert.throws(() => parseAllDown(json, ids), want));
}
test('allDown: default is failopen', () => assert.deepEqual(parseAllDown(undefined, ids), { mode: 'failopen' }));
