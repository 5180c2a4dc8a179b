/**
 * src/admin/README.md against the code: one row per MERIDIAN_ERR_* code of errors.ts with its
 * status (and no row for a code that does not exist), one row per route with the role the auth
 * matrix checks, and one row per key of the `admin:` section with its default.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { AdminSchema } from '../../src/admin/config.js';
import { ERRORS } from '../../src/admin/errors.js';
import { ROUTES } from './routes.js';
import { markdownTable } from '../helpers/markdown.js';

const README = readFileSync(new URL('../../src/admin/README.md', import.meta.url), 'utf8');

const table = (first: string): string[][] => markdownTable(README, first);

const unquote = (s: string): string => s.replace(/^`|`$/g, '');

test('the error table lists every code of errors.ts with its status, and nothing else', () => {
  const rows = table('code');
  const documented = new Map(rows.map(([code, status]) => [unquote(code!), Number(status)]));
  assert.equal(documented.size, rows.length, 'a code is listed twice');
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ERRORS).sort());
  for (const [code, { status }] of Object.entries(ERRORS)) assert.equal(documented.get(code), status, code);
  for (const [code, , when] of rows) assert.ok(when && when.length > 10, `${code} needs a "when"`);
});

test('the route table lists every route with the role the auth matrix checks', () => {
  const documented = table('method').map(([method, route, role]) => `${method} ${unquote(route!)} ${role}`);
  const expected = ROUTES.map((r) => `${r.method} ${r.route} ${r.role ?? 'public'}`);
  assert.deepEqual([...documented].sort(), [...expected].sort());
});

test('the config table lists every key of the admin: section with its default', () => {
  // Nested sections (retention) are listed key by key: `retention.versions`, …
  const defaults: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(Value.Default(AdminSchema, {}) as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [sub, sv] of Object.entries(v)) defaults[`${k}.${sub}`] = sv;
    else defaults[k] = v;
  }
  // Optional keys without a default (`tls`) are listed as `absent`.
  const optional = Object.keys(AdminSchema.properties).filter((k) => !(k in defaults) && !Object.keys(defaults).some((d) => d.startsWith(`${k}.`)));
  const rows = table('key');
  assert.deepEqual(rows.map(([k]) => unquote(k!)).sort(), [...Object.keys(defaults), ...optional].sort());
  for (const [key, dflt] of rows) {
    if (optional.includes(unquote(key!))) {
      assert.match(dflt!, /^absent\b/, key);
      continue;
    }
    const want = JSON.stringify(defaults[unquote(key!)]);
    // The default is the first word, or the whole `code span` when it has spaces (a cron expression).
    const shown = dflt!.startsWith('`') ? dflt!.slice(0, dflt!.indexOf('`', 1) + 1) : dflt!.split(' ')[0]!;
    assert.equal(unquote(shown), typeof defaults[unquote(key!)] === 'string' ? JSON.parse(want) : want, key);
  }
});
