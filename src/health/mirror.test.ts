/** A worker's copy of the region answers: what an update changes, and who hears of it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerUpdate, MirroredHealth } from './mirror.js';
import type { RegionAnswer } from './state.js';

const answer = (state: RegionAnswer['state'], down: string[] = [], factor = 1): RegionAnswer => ({ state, downAddresses: new Set(down), factor });

test('a copy answers as the plane it copies, and hears only the regions an update names', () => {
  const plane = new Map<string, RegionAnswer>([
    ['a', answer('up', ['192.0.2.1'])],
    ['b', answer('down')],
    ['c', answer('up', [], 0.5)],
  ]);
  const copy = new MirroredHealth();
  const heard: string[][] = [];
  copy.onSwap((regions) => heard.push([...regions].sort()));
  copy.apply(answerUpdate(3, (id) => plane.get(id), plane.keys(), true));
  assert.equal(copy.version, 3);
  assert.equal(copy.region('a'), 'up');
  assert.equal(copy.region('b'), 'down');
  assert.equal(copy.addressUp('a', '192.0.2.1'), false);
  assert.equal(copy.addressUp('a', '192.0.2.2'), true);
  assert.equal(copy.effectiveWeight('c', 100), 50);
  assert.equal(copy.effectiveWeight('a', 100), 100);
  assert.equal(copy.region('unknown'), 'up', 'a region the plane has not judged is up, as in HealthState');

  plane.set('b', answer('up'));
  copy.apply(answerUpdate(4, (id) => plane.get(id), ['b'], false));
  assert.equal(copy.region('b'), 'up');
  assert.equal(copy.addressUp('a', '192.0.2.1'), false, 'regions the update does not name are kept');

  // A full update drops the regions the plane no longer has.
  plane.delete('c');
  copy.apply(answerUpdate(5, (id) => plane.get(id), plane.keys(), true));
  assert.equal(copy.effectiveWeight('c', 100), 100);
  assert.deepEqual(heard, [['a', 'b', 'c'], ['b'], ['a', 'b', 'c']]);
});

test('updates are plain data: they survive a JSON round trip (the IPC channel)', () => {
  const u = answerUpdate(7, () => answer('drained', ['2001:db8::1'], 0.25), ['x'], false);
  const copy = new MirroredHealth();
  copy.apply(JSON.parse(JSON.stringify(u)) as typeof u);
  assert.equal(copy.region('x'), 'drained');
  assert.equal(copy.addressUp('x', '2001:db8::1'), false);
  assert.equal(copy.effectiveWeight('x', 100), 25);
});
