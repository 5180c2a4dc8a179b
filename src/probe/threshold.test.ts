/**
 * Threshold: table cases (N-1 results never flip, N do; resets; unknown), anti-flap on an
 * alternating endpoint, and fast-check properties bounding flips on arbitrary sequences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Threshold, type InitialStatus } from './threshold.js';

/** Feeds results ('+' ok, '-' fail); returns the final status, every status, and the up/down flips. */
function run(seq: string | boolean[], rise: number, fall: number, initial: InitialStatus) {
  const th = new Threshold({ rise, fall, initial });
  const results = typeof seq === 'string' ? [...seq].map((c) => c === '+') : seq;
  const statuses: string[] = [];
  let flips = 0;
  let changes = 0;
  results.forEach((ok, i) => {
    const step = th.record(ok, i);
    statuses.push(step.status);
    if (step.changed) changes++;
    if (step.changed && step.previous !== 'unknown') flips++;
  });
  return { status: th.status, statuses, flips, changes, since: th.since };
}

const cases: { name: string; seq: string; rise: number; fall: number; initial: InitialStatus; want: string; flips: number }[] = [
  { name: 'fall 3: 2 failures keep it up', seq: '--', rise: 2, fall: 3, initial: 'up', want: 'up', flips: 0 },
  { name: 'fall 3: 3 failures take it down', seq: '---', rise: 2, fall: 3, initial: 'up', want: 'down', flips: 1 },
  { name: 'rise 2: 1 success keeps it down', seq: '+', rise: 2, fall: 3, initial: 'down', want: 'down', flips: 0 },
  { name: 'rise 2: 2 successes bring it up', seq: '++', rise: 2, fall: 3, initial: 'down', want: 'up', flips: 1 },
  { name: 'a success resets the failure count', seq: '--+--', rise: 2, fall: 3, initial: 'up', want: 'up', flips: 0 },
  { name: 'a failure resets the success count', seq: '+-+-+', rise: 2, fall: 3, initial: 'down', want: 'down', flips: 0 },
  { name: 'down and back up', seq: '---++', rise: 2, fall: 3, initial: 'up', want: 'up', flips: 2 },
  { name: 'more failures while down change nothing', seq: '------', rise: 2, fall: 3, initial: 'up', want: 'down', flips: 1 },
  { name: 'unknown: first failure decides', seq: '-', rise: 2, fall: 3, initial: 'unknown', want: 'down', flips: 0 },
  { name: 'unknown: first success decides, then hysteresis', seq: '+--', rise: 2, fall: 3, initial: 'unknown', want: 'up', flips: 0 },
  { name: 'rise 1 fall 1 follows every result', seq: '+-+-', rise: 1, fall: 1, initial: 'up', want: 'down', flips: 3 },
  { name: 'gdnsd-like 20/10: 9 failures are not enough', seq: '-'.repeat(9), rise: 20, fall: 10, initial: 'up', want: 'up', flips: 0 },
  { name: 'gdnsd-like 20/10: 10 failures are', seq: '-'.repeat(10), rise: 20, fall: 10, initial: 'up', want: 'down', flips: 1 },
];
for (const c of cases) {
  test(`threshold: ${c.name}`, () => {
    const r = run(c.seq, c.rise, c.fall, c.initial);
    assert.equal(r.status, c.want);
    assert.equal(r.flips, c.flips);
  });
}

test('threshold: for every N in 1..8, N-1 consecutive failures (successes) never flip, N do', () => {
  for (let n = 1; n <= 8; n++) {
    assert.equal(run('-'.repeat(n - 1), 2, n, 'up').status, 'up', `fall ${n}: ${n - 1} failures`);
    assert.equal(run('-'.repeat(n), 2, n, 'up').status, 'down', `fall ${n}: ${n} failures`);
    assert.equal(run('+'.repeat(n - 1), n, 3, 'down').status, 'down', `rise ${n}: ${n - 1} successes`);
    assert.equal(run('+'.repeat(n), n, 3, 'down').status, 'up', `rise ${n}: ${n} successes`);
  }
});

test('threshold: since is the time of the last change', () => {
  const r = run('+---++', 2, 3, 'unknown');
  assert.equal(r.since, 5); // unknown->up at 0, down at 3, up at 5
  assert.equal(new Threshold({ rise: 2, fall: 3, initial: 'up' }).since, null);
});

test('threshold: rejects rise/fall below 1', () => {
  assert.throws(() => new Threshold({ rise: 0, fall: 3 }), /rise/);
  assert.throws(() => new Threshold({ rise: 2, fall: 1.5 }), /fall/);
});

for (const initial of ['up', 'down', 'unknown'] as const) {
  test(`threshold: alternating ok/fail 100 times with rise 2 fall 3 from ${initial} -> 0 flips`, () => {
    const seq = Array.from({ length: 100 }, (_, i) => i % 2 === 0);
    const r = run(seq, 2, 3, initial);
    assert.equal(r.flips, 0);
    assert.ok(r.changes <= 1, 'at most the first verdict out of unknown');
  });
}

/** Maximal runs of equal results: [value, length]. */
function runs(seq: boolean[]): [boolean, number][] {
  const out: [boolean, number][] = [];
  for (const ok of seq) {
    const last = out.at(-1);
    if (last && last[0] === ok) last[1]++;
    else out.push([ok, 1]);
  }
  return out;
}

const arb = fc.record({
  seq: fc.array(fc.boolean(), { maxLength: 300 }),
  rise: fc.integer({ min: 1, max: 6 }),
  fall: fc.integer({ min: 1, max: 6 }),
  initial: fc.constantFrom<InitialStatus>('up', 'down', 'unknown'),
});

test('threshold property: flips <= runs of failures >= fall + runs of successes >= rise (<= runs >= min(rise, fall))', () => {
  fc.assert(
    fc.property(arb, ({ seq, rise, fall, initial }) => {
      const { flips } = run(seq, rise, fall, initial);
      const rs = runs(seq);
      const qualifying = rs.filter(([ok, n]) => n >= (ok ? rise : fall)).length;
      assert.ok(flips <= qualifying, `flips ${flips} > qualifying runs ${qualifying}`);
      assert.ok(qualifying <= rs.filter(([, n]) => n >= Math.min(rise, fall)).length);
    }),
    { numRuns: 2000 },
  );
});

test('threshold property: a run of >= fall failures ends down, of >= rise successes ends up (liveness)', () => {
  fc.assert(
    fc.property(arb, ({ seq, rise, fall, initial }) => {
      const { statuses } = run(seq, rise, fall, initial);
      let streak = 0;
      seq.forEach((ok, i) => {
        streak = i > 0 && seq[i - 1] === ok ? streak + 1 : 1;
        if (streak >= (ok ? rise : fall)) assert.equal(statuses[i], ok ? 'up' : 'down');
      });
    }),
    { numRuns: 2000 },
  );
});

test('threshold property: the status only changes after enough agreeing results (safety)', () => {
  fc.assert(
    fc.property(arb, ({ seq, rise, fall, initial }) => {
      const { statuses } = run(seq, rise, fall, initial);
      let prev: string = initial;
      statuses.forEach((s, i) => {
        if (s !== prev && prev !== 'unknown') {
          const need = s === 'up' ? rise : fall;
          const tail = seq.slice(Math.max(0, i - need + 1), i + 1);
          assert.ok(tail.length === need && tail.every((ok) => ok === (s === 'up')), `flip to ${s} at ${i} without ${need} agreeing results`);
        }
        prev = s;
      });
    }),
    { numRuns: 2000 },
  );
});
