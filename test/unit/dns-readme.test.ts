/**
 * src/dns/README.md against the schema: the `dns:` config table lists every key (`tcp.*` key by
 * key, `rrl` as one row with its own table below) and each default as the loader fills it in.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { DnsSchema } from '../../src/config/schema.js';
import { markdownTable } from '../helpers/markdown.js';

const README = readFileSync(new URL('../../src/dns/README.md', import.meta.url), 'utf8');

test('the dns: table lists every key with the default the loader fills in', () => {
  const defaults = Value.Default(DnsSchema, {}) as Record<string, unknown>;
  const flat: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(defaults)) {
    if (k === 'tcp') for (const [sub, sv] of Object.entries(v as Record<string, unknown>)) flat[`tcp.${sub}`] = sv;
    else flat[k] = v;
  }
  const table = markdownTable(README, 'key', '## Config keys (`dns:`');
  const keys = table.map(([k]) => k!.replace(/^`|`$/g, ''));
  // `identity` has no default (the host name is used); `rrl` is an object documented in its own table.
  assert.deepEqual(keys.sort(), [...Object.keys(flat), 'identity'].sort());
  for (const [key, shown] of table) {
    const k = key!.replace(/^`|`$/g, '');
    if (k === 'identity' || k === 'rrl') continue;
    const code = /^`([^`]*)`/.exec(shown!);
    assert.ok(code, `${k}: the default as code`);
    assert.equal(code[1], typeof flat[k] === 'string' ? flat[k] : JSON.stringify(flat[k]), k);
  }
});
