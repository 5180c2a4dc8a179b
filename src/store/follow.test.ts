import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigDocument } from '../config/document.js';
import { createLogger } from '../obs/log.js';
import { ConfigFollower } from './follow.js';
import type { LocalCopyFile } from './local-copy.js';
import type { ConfigStore, VersionRecord } from './types.js';

const record = (version: number): VersionRecord => ({
  version,
  author: 'ops',
  time: new Date(0).toISOString(),
  reason: '',
  action: 'test',
  target: 'config',
  diff: [],
  document: {} as ConfigDocument,
});

/** A local copy whose writes finish only when the test says so; it records the order of events. */
function slowCopy(events: string[]): { copy: LocalCopyFile; finish: () => void } {
  let finish = (): void => undefined;
  const copy = {
    latest: null,
    update: ({ record: r }: { record?: VersionRecord }) =>
      new Promise<void>((resolve) => {
        events.push(`copy v${r?.version}`);
        finish = () => {
          events.push(`copy v${r?.version} on disk`);
          resolve();
        };
      }),
    flush: () => Promise.resolve(),
  } as unknown as LocalCopyFile;
  return { copy, finish: () => finish() };
}

test('a version from the store is on disk in the local copy before the role answers with it', async () => {
  const events: string[] = [];
  const { copy, finish } = slowCopy(events);
  const store = { kind: 'redis', connected: true, head: async () => 3, get: async (v: number) => record(v), onVersion: () => () => undefined, close: async () => undefined } as unknown as ConfigStore;
  const follower = new ConfigFollower({
    openStore: async () => store,
    kind: 'redis',
    seed: {} as ConfigDocument,
    apply: (r) => {
      events.push(`apply v${r.version}`);
      return [];
    },
    localCopy: copy,
    restores: true,
    log: createLogger('silent'),
  });
  const started = follower.start();
  while (!events.includes('copy v3')) await new Promise((r) => setImmediate(r));
  assert.deepEqual(events, ['copy v3'], 'nothing applied while the copy is being written');
  finish();
  await started;
  assert.deepEqual(events, ['copy v3', 'copy v3 on disk', 'apply v3']);
  await follower.close();
});
