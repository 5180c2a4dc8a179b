/**
 * The section registry: the loader knows no component, so a process that did not register the
 * sections (src/node/config.ts) gets a clear error rather than a config without them. Each test
 * file runs in its own process, so this one starts with an empty registry (src/node/config.test.ts
 * checks the registered one).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConfigText } from './load.js';

const YAML = 'zones: [{ origin: example.com, file: none.zone }]\n';

test('loading before any section is registered fails loudly, naming where sections are registered', () => {
  assert.throws(() => readConfigText(YAML, '/x/meridian.yaml'), /no config sections are registered: load configs through src\/node\/config\.ts/);
});
