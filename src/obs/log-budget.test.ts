import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogBudget } from './log-budget.js';

test('at most perWindow lines a window; the rest counted and summed up once, when the window ends', async () => {
  const clock = { t: 0 };
  const summaries: number[] = [];
  const b = new LogBudget(
    3,
    50,
    (n) => summaries.push(n),
    () => clock.t,
  );
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.take()),
    [true, true, true, false, false],
  );
  assert.deepEqual(summaries, []);
  // The summary comes from a timer at the end of the window, with no further event needed.
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(summaries, [2]);
  clock.t = 50;
  assert.equal(b.take(), true, 'a new window');
  b.flush();
  assert.deepEqual(summaries, [2], 'nothing left out, no summary');
  assert.deepEqual(
    Array.from({ length: 4 }, () => b.take()),
    [true, true, false, false],
  );
  clock.t = 100;
  assert.equal(b.take(), true, 'the next window starts with the summary of the last');
  assert.deepEqual(summaries, [2, 2]);
});
