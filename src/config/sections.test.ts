/**
 * The section registry: the loader knows no component, so a process that did not register the
 * sections (src/node/config.ts) gets a clear error rather than a config without them, and a section
 * registered twice is a programming error. Each test file runs in its own process, so this one
 * starts with an empty registry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigText } from './load.js';

const YAML = 'zones: [{ origin: example.com, file: none.zone }]\n';

test('loading before any section is registered fails loudly, naming where sections are registered', () => {
  assert.throws(() => loadConfigText(YAML, '/x/meridian.yaml'), /no config sections are registered: load configs through src\/node\/config\.ts/);
});

test('src/node/config.ts registers forward, admin and redis once; a second registration throws', async () => {
  const node = await import('../node/config.js');
  const r = node.loadConfigText(YAML, '/x/meridian.yaml');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.errors.map((e) => e.reason).join('\n'), /cannot read zone file/, 'the sections are known: only the zone file is missing');
  const sections = await import('./sections.js');
  assert.deepEqual(
    sections.configSections().map((s) => s.key),
    ['forward', 'admin', 'redis'],
  );
  assert.throws(() => sections.registerConfigSection(sections.configSections()[0]!), /config section forward is registered twice/);
});
