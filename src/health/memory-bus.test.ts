import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { busContract, type BusHarness } from './bus.contract.js';
import { makeView, obs } from './testkit.js';
import { MemoryBus } from './memory-bus.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-memory-bus-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function setup(): Promise<BusHarness> {
  let clock = 1_700_000_000_000;
  const now = (): number => clock;
  const file = join(dir, `overrides-${++n}.json`);
  const bus = new MemoryBus({ now, overridesFile: file });
  return {
    bus,
    reopen: async () => new MemoryBus({ now, overridesFile: file }),
    elapse: async (ms) => {
      clock += ms;
    },
    now,
    ttlMs: 1_000,
    close: () => bus.close(),
  };
}

busContract('MemoryBus', setup);

describe('MemoryBus specifics', () => {
  it('writes the overrides file atomically as a JSON array, without expired records or temp files', async () => {
    const h = await setup();
    const bus = h.bus as MemoryBus;
    await bus.writeOverride({ scope: 'region/eu', state: 'down', expiresAt: h.now() + 1_000, reason: 'r', author: 'a', createdAt: h.now() });
    await h.elapse(2_000);
    await bus.writeOverride({ scope: 'region/us', state: 'drained', expiresAt: null, reason: 'r', author: 'a', createdAt: h.now() });
    const file = join(dir, `overrides-${n}.json`);
    const data = JSON.parse(readFileSync(file, 'utf8')) as { scope: string }[];
    assert.deepEqual(
      data.map((o) => o.scope),
      ['region/us'],
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    await bus.close();
  });

  it('a corrupt overrides file refuses to start (losing operator intent silently is worse)', () => {
    const file = join(dir, 'corrupt.json');
    writeFileSync(file, '{"not": "an array"');
    assert.throws(() => new MemoryBus({ overridesFile: file }), /corrupt\.json/);
    writeFileSync(file, JSON.stringify([{ scope: 'region/eu', state: 'sideways', expiresAt: null, createdAt: 1 }]));
    assert.throws(() => new MemoryBus({ overridesFile: file }), /state/);
  });

  it('a failed write leaves the override out of force and rejects', async () => {
    const bus = new MemoryBus({ overridesFile: join(dir, 'no-such-dir', 'overrides.json') });
    await assert.rejects(bus.writeOverride({ scope: 'region/eu', state: 'down', expiresAt: null, reason: 'r', author: 'a', createdAt: 1 }), /ENOENT/);
    assert.deepEqual(await bus.readOverrides(), []);
    await bus.close();
  });

  it('reads return copies: mutating one does not change the bus', async () => {
    const bus = new MemoryBus();
    await bus.writeView(makeView('va', Date.now(), { 'eu/a': obs('up', 1) }), 10_000);
    const [v] = await bus.readViews();
    v!.endpoints.set('eu/a', obs('down', 2));
    assert.equal((await bus.readViews())[0]!.endpoints.get('eu/a')!.status, 'up');
    await bus.close();
  });
});
