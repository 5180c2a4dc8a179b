import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlipLog } from './flips.js';

const seen = (states: Record<string, string>) => Object.entries(states).map(([target, state]) => ({ target, state, source: 'probes' }));

test('FlipLog: the first look and new targets are not flips; changes are, newest first, bounded', () => {
  const log = new FlipLog(3);
  assert.equal(log.observe(seen({ 'region/a': 'up', 'endpoint/a/w': 'up' }), 0), 0, 'the first tick records only');
  assert.equal(log.observe(seen({ 'region/a': 'up', 'endpoint/a/w': 'down', 'region/b': 'down' }), 1000), 1, 'region/b is new, not a flip');
  assert.deepEqual(log.recent(), [{ time: '1970-01-01T00:00:01.000Z', target: 'endpoint/a/w', from: 'up', to: 'down', source: 'probes' }]);
  for (let i = 0; i < 4; i++) log.observe(seen({ 'region/a': i % 2 ? 'up' : 'down' }), 2000 + i);
  const recent = log.recent();
  assert.equal(recent.length, 3, 'only the newest are kept');
  assert.deepEqual(
    recent.map((f) => `${f.from}->${f.to}`),
    ['down->up', 'up->down', 'down->up'],
  );
  assert.equal(recent[0]!.time, '1970-01-01T00:00:02.003Z');
});
