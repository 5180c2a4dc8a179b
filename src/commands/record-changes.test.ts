import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRecordChanges, recordChanges } from './record-changes.js';

const zone = (records: { name: string; ttl?: number; type: string; data: string }[]) => [{ origin: 'ex.test', records }];

test('record changes: one owner however it is spelled; sets compared whole; added and removed rrsets', () => {
  const before = zone([
    { name: '@', type: 'NS', data: 'ns1.ex.test.' },
    { name: 'mail', ttl: 60, type: 'A', data: '192.0.2.25' },
    { name: 'www', type: 'A', data: '192.0.2.1' },
    { name: 'www', type: 'A', data: '192.0.2.2' },
    { name: 'old', type: 'TXT', data: '"x"' },
  ]);
  const after = [
    {
      origin: 'EX.TEST.',
      records: [
        { name: 'ex.test.', type: 'ns', data: 'ns1.ex.test.' },
        { name: 'MAIL.ex.test.', ttl: 60, type: 'A', data: '192.0.2.26' },
        { name: 'www', type: 'A', data: '192.0.2.2' },
        { name: 'www', type: 'A', data: '192.0.2.1' },
        { name: 'new', type: 'TXT', data: '"y"' },
      ],
    },
  ];
  const changes = recordChanges(before, after);
  assert.deepEqual(
    changes.map((c) => [c.name, c.type, c.before, c.after]),
    [
      ['mail.ex.test.', 'A', ['60 192.0.2.25'], ['60 192.0.2.26']],
      ['new.ex.test.', 'TXT', [], ['"y"']],
      ['old.ex.test.', 'TXT', ['"x"'], []],
    ],
  );
  assert.equal(
    formatRecordChanges(changes),
    'static records that would change (3):\n  mail.ex.test. A: 60 192.0.2.25 -> 60 192.0.2.26\n  new.ex.test. TXT: none -> "y"\n  old.ex.test. TXT: "x" -> none\n',
  );
  assert.equal(formatRecordChanges(recordChanges(before, before)), '');
});
