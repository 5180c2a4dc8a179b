import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RegionHealth } from '../health-report.js';
import { displayState } from './state.js';

const region = (over: Partial<RegionHealth>): RegionHealth => ({ id: 'r', state: 'up', source: 'probes', endpointsUp: 2, endpointsCounted: 2, override: null, endpoints: [], ...over });
const override = { state: 'up' as const, reason: 'x', author: 'ops', expiresAt: null };

test('displayState: the colour of a region on the map', () => {
  const cases: [string, RegionHealth | null, string][] = [
    ['all endpoints up', region({}), 'up'],
    ['no endpoints (up, empty)', region({ source: 'empty', endpointsUp: 0, endpointsCounted: 0 }), 'up'],
    ['up with an endpoint down', region({ endpointsUp: 1 }), 'degraded'],
    ['down by probes', region({ state: 'down', endpointsUp: 0 }), 'down'],
    ['drained by config', region({ state: 'drained', source: 'config' }), 'drained'],
    ['an override decides, whatever it forces', region({ source: 'override', override }), 'overridden'],
    [
      'down because an endpoint is forced down',
      region({ state: 'down', endpointsUp: 0, endpoints: [{ id: 'e', state: 'down', source: 'override', up: 0, down: 0, live: 0, override: { ...override, state: 'down' }, votes: [] }] }),
      'overridden',
    ],
    ['not served by this node yet', null, 'down'],
  ];
  for (const [what, h, want] of cases) assert.equal(displayState(h), want, what);
});
