/**
 * Retention of the config store (src/admin/retention.ts) on a real admin node with its file store:
 * old versions go (the API then reports them absent), old audit entries go, and a cron expression
 * that node-cron rejects is a config error, not a crash at the first tick.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Retention } from '../../src/admin/retention.js';
import { startAdminNode, Z, ZONE } from './helpers.js';
import { loadConfigFile } from '../../src/node/config.js';

const DAY_MS = 86_400_000;

describe('config store retention', () => {
  it('keeps the newest admin.retention.versions versions; pruned ones are 404 through the API', async (t) => {
    const n = await startAdminNode({ admin: { retention: { versions: 3, auditDays: 400 } } });
    t.after(() => n.stop());
    for (const weight of [10, 20, 30, 40, 50]) {
      const res = await n.api('PUT', '/v1/regions/eu-west/weight', { body: { weight } });
      assert.equal(res.status, 200, res.body);
    }
    const head = await n.head();
    assert.ok(head >= 6, `head ${head}`);
    const res = await n.node.admin!.retention.run();
    assert.deepEqual(res, { versions: head - 3, auditEntries: 0 });
    const list = await n.api('GET', '/v1/versions');
    assert.deepEqual(
      (list.json as { version: number }[]).map((v) => v.version),
      [head, head - 1, head - 2],
    );
    assert.equal((await n.api('GET', '/v1/versions/1')).status, 404);
    assert.equal((await n.api('GET', `/v1/versions/${head - 2}`)).status, 200);
    // The store keeps working: the next change is head + 1; a rollback works to a kept version only.
    assert.equal((await n.api('PUT', '/v1/regions/eu-west/weight', { body: { weight: 60 } })).status, 200);
    assert.equal(await n.head(), head + 1);
    assert.equal((await n.api('POST', '/v1/rollback/1')).status, 404);
    const rollback = await n.api('POST', `/v1/rollback/${head - 2}`);
    assert.equal(rollback.status, 200, rollback.body);
    assert.equal(await n.head(), head + 2);
  });

  it('drops audit entries older than auditDays, except the newest', async (t) => {
    const n = await startAdminNode();
    t.after(() => n.stop());
    await n.api('PUT', '/v1/regions/eu-west/weight', { body: { weight: 10 } });
    const before = (await n.api('GET', '/v1/audit?limit=1000')).json as { seq: number }[];
    assert.ok(before.length >= 2, JSON.stringify(before));
    const store = n.node.follower!.store!;
    const later = new Retention(store, { versions: 0, auditDays: 2, cron: '* * * * *' }, pino({ level: 'silent' }), () => Date.now() + 3 * DAY_MS);
    assert.deepEqual(await later.run(), { versions: 0, auditEntries: before.length - 1 });
    const after = (await n.api('GET', '/v1/audit?limit=1000')).json as { seq: number }[];
    assert.deepEqual(
      after.map((e) => e.seq),
      [before[0]!.seq],
    );
  });

  it('a cron expression node-cron does not accept is a config error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'meridian-retention-'));
    try {
      writeFileSync(join(dir, 'zone'), ZONE);
      const config = { dns: { listen: ['127.0.0.1:0'] }, zones: [{ origin: Z, file: 'zone' }], admin: { retention: { cron: 'every night' } } };
      writeFileSync(join(dir, 'meridian.yaml'), JSON.stringify(config, null, 2));
      const loaded = loadConfigFile(join(dir, 'meridian.yaml'));
      assert.equal(loaded.ok, false);
      assert.match(loaded.ok ? '' : loaded.errors.map((e) => e.reason).join('\n'), /admin\.retention\.cron: not a cron expression/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
