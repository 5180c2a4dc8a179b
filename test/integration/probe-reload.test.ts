/**
 * `meridian probe` reloads on SIGHUP like `serve` and `forward` (issue 14, defect 4): a changed YAML
 * is applied (a new endpoint gets checked), a bad one is rejected with a coded error in the log and
 * the running config stays. A real probe process and a real redis-server.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { redisSkipReason } from '../helpers/redis.js';
import { portOf, startProbeFixture, until } from '../helpers/role.js';

describe('meridian probe on SIGHUP', { skip: redisSkipReason() }, () => {
  it('applies a changed YAML, rejects a bad one with a coded error and keeps running', async (t) => {
    const { web1, web2, file, write, probe, checks } = await startProbeFixture(t);
    assert.equal(await checks('web-2'), 0);

    write([
      { id: 'web-1', port: portOf(web1) },
      { id: 'web-2', port: portOf(web2) },
    ]);
    probe.proc.kill('SIGHUP');
    await probe.line((l) => l.msg === 'reloaded', 10_000, '"reloaded" after SIGHUP');
    await until(async () => (await checks('web-2')) > 0, 10_000, 'web-2, added to the YAML, is checked');

    // Bad: timeoutMs above intervalMs. Valid YAML that also drops web-2: nothing of it may apply.
    write([{ id: 'web-1', port: portOf(web1) }], { intervalMs: 200, timeoutMs: 5_000 });
    probe.proc.kill('SIGHUP');
    const rejected = await probe.line((l) => l.code === 'MERIDIAN_ERR_INVALID_CONFIG', 10_000, 'a coded rejection');
    assert.equal(rejected.level, 50, 'logged at error level');
    assert.match(String(rejected.msg), /reload rejected/);
    assert.match(JSON.stringify(rejected.problems), /timeoutMs/);
    const seen = await checks('web-2');
    await until(async () => (await checks('web-2')) >= seen + 3, 10_000, 'web-2 is still checked: the running config stays');

    // Not YAML at all: rejected the same way.
    writeFileSync(file, 'regions: [\n');
    probe.proc.kill('SIGHUP');
    await until(() => probe.lines.filter((l) => l.code === 'MERIDIAN_ERR_INVALID_CONFIG').length === 2, 10_000, 'a second coded rejection');
    assert.ok(probe.running(), 'the probe survives every SIGHUP');

    await probe.stop();
    assert.deepEqual(await probe.exited, { code: 0, signal: null });
  });
});

describe('meridian probe on SIGHUP, config store unreachable since start', { skip: redisSkipReason() }, () => {
  it("runs the YAML (no local copy yet) and a SIGHUP applies the YAML's new endpoints", async (t) => {
    const { web1, web2, write, probe, checks } = await startProbeFixture(t, { admin: { listen: null } }, { redisDown: true });
    assert.ok(probe.lines.some((l) => l.msg === 'config store unreachable; booting from the local copy and retrying'));
    write([
      { id: 'web-1', port: portOf(web1) },
      { id: 'web-2', port: portOf(web2) },
    ]);
    probe.proc.kill('SIGHUP');
    await probe.line((l) => l.msg === 'reloaded', 10_000, '"reloaded" after SIGHUP');
    await until(async () => (await checks('web-2')) > 0, 10_000, 'web-2, added to the YAML, is checked while the store is away');
    assert.deepEqual(probe.doubleBound, [], 'no log line names its component twice (the store and config lines included)');
  });
});
