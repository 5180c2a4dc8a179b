/** The registry decides the chain order, whatever order the config lists policies in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileChain } from './chain.js';
import { REGISTRY } from './registry.js';
import { ALL } from './testkit.js';

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
