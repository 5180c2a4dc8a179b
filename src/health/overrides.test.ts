import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, makeOverride, parseDuration, parseOverride, parseScope, parseState } from './overrides.js';

const NOW = Date.UTC(2026, 0, 1, 12);

describe('overrides: scopes', () => {
  it('parses region and endpoint scopes', () => {
    assert.deepEqual(parseScope('region/eu-west'), { kind: 'region', scope: 'region/eu-west', region: 'eu-west' });
    assert.deepEqual(parseScope('endpoint/eu-west/web-1'), {
      kind: 'endpoint',
      scope: 'endpoint/eu-west/web-1',
      region: 'eu-west',
      endpoint: 'web-1',
      key: 'eu-west/web-1',
    });
    assert.equal(parseScope('endpoint/us/10.0.0.1:443').kind, 'endpoint');
  });
  for (const bad of ['', 'region', 'region/', 'region/EU', 'region/eu/x', 'endpoint/eu', 'endpoint/eu/', 'endpoint/eu/a/b', 'pool/eu', 'endpoint/eu/-x']) {
    it(`rejects '${bad}'`, () => assert.throws(() => parseScope(bad), /override scope/));
  }
  it('states', () => {
    assert.equal(parseState('DOWN'), 'down');
    assert.equal(parseState('drained'), 'drained');
    assert.throws(() => parseState('maintenance'), /up, down or drained/);
  });
});

describe('overrides: durations', () => {
  const cases: [string, number][] = [
    ['30s', 30_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
  ];
  for (const [text, ms] of cases) it(`${text} = ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  // '367d' and '0821629811d': regression, an unbounded expiry overflowed Date and broke listings.
  for (const bad of ['30', '0m', '1w', '-5m', 'm', '1.5h', '', '367d', '0821629811d']) {
    it(`rejects '${bad}'`, () => assert.throws(() => parseDuration(bad), /duration/));
  }
  it('formats the two largest units', () => {
    assert.equal(formatDuration(5_400_000), '1h 30m');
    assert.equal(formatDuration(45_000), '45s');
    assert.equal(formatDuration(90_061_000), '1d 1h');
    assert.equal(formatDuration(0), '0s');
  });
});

describe('overrides: records', () => {
  it('makeOverride validates and sets expiry from the duration', () => {
    const o = makeOverride({ scope: 'region/eu', state: 'drained', for: '30m', reason: ' maintenance ', author: 'ana', now: NOW });
    assert.deepEqual(o, { scope: 'region/eu', state: 'drained', expiresAt: NOW + 1_800_000, reason: 'maintenance', author: 'ana', createdAt: NOW });
    assert.equal(makeOverride({ scope: 'region/eu', state: 'up', reason: 'r', author: 'a', now: NOW }).expiresAt, null);
    assert.throws(() => makeOverride({ scope: 'region/eu', state: 'up', reason: ' ', author: 'a', now: NOW }), /reason/);
  });
  it('parseOverride round-trips JSON and rejects junk', () => {
    const o = makeOverride({ scope: 'endpoint/eu/a', state: 'down', for: '1h', reason: 'r', author: 'a', now: NOW });
    assert.deepEqual(parseOverride(JSON.parse(JSON.stringify(o))), o);
    assert.throws(() => parseOverride(null), /not an object/);
    assert.throws(() => parseOverride({ ...o, state: 'sideways' }), /state/);
    assert.throws(() => parseOverride({ ...o, expiresAt: 'soon' }), /expiresAt/);
    assert.throws(() => parseOverride({ ...o, scope: 'eu' }), /scope/);
  });
});
