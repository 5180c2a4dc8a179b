import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LineCounter } from 'yaml';
import { cstFacts, lexTooDeep } from './yaml-bounds.js';

const demo = readFileSync(new URL('../../zones/meridian.yaml', import.meta.url), 'utf8');
/** `levels` maps nested by indentation, one level per line: the one way to nest deep that the lexer pass leaves to the tree walk. */
const indented = (levels: number): string => Array.from({ length: levels }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n') + ' leaf\n';

test('the demo config is within both bounds, and its lines are counted', () => {
  assert.equal(lexTooDeep(demo), null);
  const lines = new LineCounter();
  assert.deepEqual(cstFacts(demo, lines), { tooDeep: null, firstAlias: null });
  assert.equal(lines.lineStarts.length, demo.split('\n').length);
});

test('brackets and same-line indicators past 32 stop the lexer pass at the first one past it; 32 pass', () => {
  assert.equal(lexTooDeep(`x: ${'['.repeat(32)}${']'.repeat(32)}`), null);
  assert.equal(lexTooDeep(`x: ${'['.repeat(33)}${']'.repeat(33)}`), 3 + 32);
  assert.equal(lexTooDeep(`x: "${'['.repeat(40)}" # ${'{'.repeat(40)}`), null, 'inside a string or a comment');
  assert.equal(lexTooDeep(`- ${'- '.repeat(32)}z`), 64);
  assert.equal(lexTooDeep(`${'- '.repeat(20)}[${'['.repeat(20)}]`), null, 'the lexer pass bounds each kind; the tree walk adds them up');
});

test('the tree walk finds depth by indentation and mixed kinds, and the first alias', () => {
  assert.equal(cstFacts(indented(32), new LineCounter()).tooDeep, null);
  const deep = indented(40);
  const lines = new LineCounter();
  const facts = cstFacts(deep, lines);
  assert.equal(lines.linePos(facts.tooDeep!).line, 33, 'the 33rd map');
  assert.notEqual(cstFacts(`${'- '.repeat(20)}[${'['.repeat(20)}]`, new LineCounter()).tooDeep, null);
  const aliases = 'a: &x 1\nb: [*x]\nc: *x\n';
  assert.equal(cstFacts(aliases, new LineCounter()).firstAlias, aliases.indexOf('*x'));
});
