/** The readable log line (log-format.ts), from what pino really writes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino, type Logger } from 'pino';
import { formatLine, prettyStream } from './log-format.js';
import { logFormat } from './log.js';
import { logFormatProblem } from './log-level.js';

/** The lines pino writes for one call, through the pretty destination. */
function logged(colour: boolean, call: (log: Logger) => void, level = 'trace'): string {
  const out: string[] = [];
  const log = pino({ level, base: { pid: 7 }, timestamp: () => ',"time":"2026-12-07T10:00:00.000Z"' }, prettyStream({ write: (s: string) => out.push(s) }, colour));
  call(log);
  return out.join('');
}

test('time, level, component, message, then key=value fields and the pid last', () => {
  const line = logged(false, (log) => log.child({ component: 'health' }).info({ endpoint: 'us-east/web-1', from: 'up', n: 3, ok: true, none: null }, 'endpoint us-east/web-1 is down'));
  assert.equal(line, '2026-12-07T10:00:00.000Z INFO  health: endpoint us-east/web-1 is down endpoint=us-east/web-1 from=up n=3 ok=true none=null pid=7\n');
});

test('values with spaces, quotes, newlines, = or nothing are quoted as JSON strings, one line each', () => {
  const line = logged(false, (log) => log.warn({ a: 'two words', b: 'say "hi"', c: 'x\ny', d: 'k=v', e: '' }, 'multi\nline'));
  assert.equal(line, '2026-12-07T10:00:00.000Z WARN  multi\\nline a="two words" b="say \\"hi\\"" c="x\\ny" d="k=v" e="" pid=7\n');
  assert.equal(line.split('\n').length, 2, 'one line');
});

test('nested objects become dotted keys; arrays stay JSON', () => {
  const line = logged(false, (log) => log.info({ votes: { 'probe-eu': 'down (ECONNREFUSED)', embedded: 'up' }, deep: { a: { b: 1 } }, list: [1, 'x'] }, 'm'));
  assert.equal(line, '2026-12-07T10:00:00.000Z INFO  m votes.probe-eu="down (ECONNREFUSED)" votes.embedded=up deep.a.b=1 list=[1,"x"] pid=7\n');
});

test('an error: its type and message as fields, its stack indented below the line', () => {
  const err = new Error('boom');
  err.stack = 'Error: boom\n    at f (a.ts:1:1)';
  const text = logged(false, (log) => log.error({ err }, 'cannot start'));
  assert.equal(text, '2026-12-07T10:00:00.000Z ERROR cannot start err.type=Error err.message=boom pid=7\n    Error: boom\n        at f (a.ts:1:1)\n');
});

test('every level by name; colour only when asked', () => {
  const names = logged(false, (log) => {
    log.trace('t');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
  })
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[1]);
  assert.deepEqual(names, ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);
  // eslint-disable-next-line no-control-regex -- escape codes are what is checked
  assert.ok(!/\x1b\[/.test(logged(false, (log) => log.error('e'))), 'no escape codes without colour');
  assert.match(
    logged(true, (log) => log.error('e')),
    // eslint-disable-next-line no-control-regex -- escape codes are what is checked
    /\x1b\[31mERROR\x1b\[39m/,
    'red ERROR with colour',
  );
});

test('a line that is not a JSON object is passed through whole', () => {
  assert.equal(formatLine('not json', false), 'not json\n');
  assert.equal(formatLine('[1,2]\n', false), '[1,2]\n');
});

test('MERIDIAN_LOG_FORMAT: json or pretty forced either way; unset, the terminal decides; anything else is a usage problem', () => {
  assert.equal(logFormat({}, { isTTY: true }), 'pretty');
  assert.equal(logFormat({}, {}), 'json');
  assert.equal(logFormat({ MERIDIAN_LOG_FORMAT: 'json' }, { isTTY: true }), 'json');
  assert.equal(logFormat({ MERIDIAN_LOG_FORMAT: 'pretty' }, {}), 'pretty');
  assert.equal(logFormatProblem(undefined), null);
  assert.equal(logFormatProblem('pretty'), null);
  assert.equal(logFormatProblem('yaml'), 'MERIDIAN_LOG_FORMAT is "yaml": expected json or pretty');
});
