import assert from 'node:assert/strict';
import { test } from 'node:test';
import { multivalue } from './multivalue.js';
import { ctx, decide, health, region } from './testkit.js';

const r1 = region('r1', { ipv4: ['10.0.0.1', '10.0.0.2'], ipv6: ['2001:db8::1'] });
const r2 = region('r2', { ipv4: ['10.0.1.1'], ipv6: ['2001:db8::2', '2001:db8::3'] });
const r3 = region('r3', { ipv4: ['10.0.2.1'], ipv6: [] });
const regions = [r1, r2, r3];

const cases: { name: string; max: number; family: 4 | 6; down?: Record<string, string[]>; want: string[] }[] = [
  { name: 'A across regions up to max', max: 3, family: 4, want: ['10.0.0.1', '10.0.0.2', '10.0.1.1'] },
  { name: 'max larger than the pool', max: 8, family: 4, want: ['10.0.0.1', '10.0.0.2', '10.0.1.1', '10.0.2.1'] },
  { name: 'AAAA skips regions without IPv6', max: 8, family: 6, want: ['2001:db8::1', '2001:db8::2', '2001:db8::3'] },
  { name: 'unhealthy addresses are skipped', max: 3, family: 4, down: { r1: ['10.0.0.1'] }, want: ['10.0.0.2', '10.0.1.1', '10.0.2.1'] },
  { name: 'max 1', max: 1, family: 6, want: ['2001:db8::1'] },
];
for (const c of cases) {
  test(`multivalue: ${c.name}`, () => {
    const { addresses } = decide({ failover: ['r1', 'r2', 'r3'], multivalue: { max: c.max } }, ctx({ qfamily: c.family, health: health({}, c.down ?? {}) }), { regions });
    assert.deepEqual(addresses, c.want);
  });
}

test('without multivalue: the addresses of the first `answers` regions', () => {
  assert.deepEqual(decide({ failover: ['r1', 'r2', 'r3'] }, ctx(), { regions }).addresses, ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(decide({ failover: ['r1', 'r2', 'r3'] }, ctx(), { regions, answers: 2 }).addresses, ['10.0.0.1', '10.0.0.2', '10.0.1.1']);
});

test('multivalue: config bounds', () => {
  assert.equal(multivalue.parseConfig({}, []).max, 8);
  assert.throws(() => multivalue.parseConfig({ max: 0 }, []), /1 to 32/);
  assert.throws(() => multivalue.parseConfig({ max: 33 }, []), /1 to 32/);
  assert.throws(() => multivalue.parseConfig({ min: 1 }, []), /unknown key "min"/);
});
