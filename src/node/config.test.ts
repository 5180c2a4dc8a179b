/**
 * The section registry as src/node/config.ts fills it: forward, admin and redis, once each and in
 * the order their problems are reported. (That loading before any registration fails is
 * src/config/sections.test.ts, in a process of its own.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

const YAML = 'zones: [{ origin: example.com, file: none.zone }]\n';

test('src/node/config.ts registers forward, admin and redis once; a second registration throws', async () => {
  const node = await import('./config.js');
  const r = node.loadConfigText(YAML, '/x/meridian.yaml');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.errors.map((e) => e.reason).join('\n'), /cannot read zone file/, 'the sections are known: only the zone file is missing');
  const sections = await import('../config/sections.js');
  assert.deepEqual(
    sections.configSections().map((s) => s.key),
    ['forward', 'admin', 'redis'],
  );
  assert.throws(() => sections.registerConfigSection(sections.configSections()[0]!), /config section forward is registered twice/);
});
