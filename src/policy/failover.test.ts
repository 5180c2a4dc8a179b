import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failover } from './failover.js';
import { ALL, ctx, decide, health, state, tiersOf } from './testkit.js';

const regionIds = ALL.map((r) => r.id);

test('failover: list order, then the rest of the service', () => {
  const step = failover.build(failover.parseConfig(['eu-west', 'ap-southeast'], regionIds));
  assert.deepEqual(tiersOf(step(state(), ctx())), ['eu-west@0', 'ap-southeast@1', 'us-east@2']);
  assert.equal(step(state(), ctx()).scope, 0, 'the client does not matter');
});

const cases: { name: string; states: Record<string, 'up' | 'down' | 'drained'>; want: string[] }[] = [
  { name: 'primary up', states: {}, want: ['192.0.2.2'] },
  { name: 'primary down -> second', states: { 'eu-west': 'down' }, want: ['192.0.2.1'] },
  { name: 'primary drained -> second', states: { 'eu-west': 'drained' }, want: ['192.0.2.1'] },
  { name: 'two down -> the unlisted third', states: { 'eu-west': 'down', 'us-east': 'down' }, want: ['192.0.2.3'] },
];
for (const c of cases) {
  test(`failover chain: ${c.name}`, () => {
    const { addresses } = decide({ failover: { order: ['eu-west', 'us-east'] } }, ctx({ health: health(c.states) }));
    assert.deepEqual(addresses, c.want);
  });
}

test('failover: rejects unknown regions and keys', () => {
  assert.throws(() => failover.parseConfig(['x'], regionIds), /unknown region "x"/);
  assert.throws(() => failover.parseConfig({ order: ['us-east'], mode: 1 }, regionIds), /unknown key "mode"/);
});
