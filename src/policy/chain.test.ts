/** The registry decides the chain order, whatever order the config lists policies in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileChain } from './chain.js';
import { REGISTRY } from './registry.js';
import { ALL, ctx, decide, health, region } from './testkit.js';
import { clientFromAddress } from '../routing/client.js';

const ids = ALL.map((r) => r.id);

const cases: { policy: Record<string, unknown>; want: string[] }[] = [
  { policy: {}, want: ['health'] },
  { policy: { multivalue: {}, geo: { default: ['us-east'] } }, want: ['geo', 'health', 'multivalue'] },
  { policy: { sticky: {}, proximity: {} }, want: ['proximity', 'health', 'sticky'] },
  { policy: { weighted: {}, failover: ['eu-west'], multivalue: { max: 2 } }, want: ['failover', 'health', 'weighted', 'multivalue'] },
];
for (const c of cases) {
  test(`chain order for ${Object.keys(c.policy).join('+') || 'no policy'}`, () => {
    assert.deepEqual(compileChain(c.policy, undefined, ids).names, c.want);
  });
}

test('needsGeo only when a locate step reads the geo record', () => {
  assert.equal(compileChain({ geo: {} }, undefined, ids).needsGeo, true);
  assert.equal(compileChain({ proximity: {} }, undefined, ids).needsGeo, true);
  assert.equal(compileChain({ failover: ['us-east'], sticky: {} }, undefined, ids).needsGeo, false);
});

for (const [policy, want] of [
  [{ geo: {}, proximity: {} }, /geo and proximity cannot be combined/],
  [{ weighted: {}, sticky: {} }, /weighted and sticky cannot be combined/],
  [{ roundrobin: {} }, /unknown policy "roundrobin"/],
  [['geo'], /policy must be a mapping/],
] as [unknown, RegExp][]) {
  test(`chain rejects ${JSON.stringify(policy)}`, () => assert.throws(() => compileChain(policy, undefined, ids), want));
}

test('every registered policy has a README section and a table test', async () => {
  const { readFileSync, existsSync } = await import('node:fs');
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  for (const p of REGISTRY) {
    assert.match(readme, new RegExp(`^## ${p.name}$`, 'm'), `README section for ${p.name}`);
    const own = new URL(`./${p.name}.test.ts`, import.meta.url);
    const shared = new URL('./balance.test.ts', import.meta.url);
    assert.ok(existsSync(own) || (p.phase === 'balance' && existsSync(shared)), `table test for ${p.name}`);
  }
});

test('every README example is a valid policy config (CoreDNS readme_test)', async () => {
  const { readFileSync } = await import('node:fs');
  const { parse } = await import('yaml');
  const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 7, `found ${blocks.length} examples`);
  const regions = ['us-east', 'us-west', 'eu-west', 'eu-central', 'ap-southeast'];
  for (const text of blocks) {
    const doc = parse(text) as { policy?: unknown; allDown?: unknown };
    assert.doesNotThrow(() => compileChain(doc.policy ?? {}, doc.allDown, regions), text);
  }
});

test("without a locate step all of a service's regions are one tier: weighted and sticky share by weight", () => {
  // Issue 13, defect 1: the runner gave each region a tier of its own, so the first region always won.
  const regions = [region('a', { weight: 300 }), region('b', { weight: 100 }), region('standby', { weight: 0 })];
  for (const policy of [{ weighted: {} }, { sticky: {} }, { sticky: {}, multivalue: {} }]) {
    const wins: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const c = ctx({ client: clientFromAddress(`10.${i >> 8}.${i & 255}.1`), trace: null });
      const first = decide(policy, c, { regions }).state.candidates[0]!.region.id;
      wins[first] = (wins[first] ?? 0) + 1;
    }
    assert.ok(Math.abs(wins.a! / 4000 - 0.75) < 0.04 && Math.abs(wins.b! / 4000 - 0.25) < 0.04, `${JSON.stringify(policy)}: ${JSON.stringify(wins)}`);
    assert.equal(wins.standby, undefined, 'weight 0 is standby');
  }
  // Without a balance step the service order decides, as before.
  assert.equal(decide({}, ctx(), { regions }).addresses[0], regions[0]!.ipv4[0]);
  // The standby answers only when every region with weight is down.
  const down = health({ a: 'down', b: 'down' });
  assert.equal(decide({ weighted: {} }, ctx({ health: down }), { regions }).state.candidates[0]!.region.id, 'standby');
});
