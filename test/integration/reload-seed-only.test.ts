/**
 * SIGHUP of a node with an `admin:` section (issue 18): the YAML's zones, regions and services only
 * seed the config store, so a reload leaves them aside. When they differ from the version served,
 * the node says so once per distinct content of the file, and how to apply them (`meridian apply`),
 * instead of a bare "reloaded". A real `meridian serve`, its YAML edited, real signals, its log.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { dig } from '../helpers/dnsproc.js';
import { US, Z, ZONE } from '../helpers/gslb.js';
import { until } from '../helpers/role.js';

const US_EAST = { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] } };
const SEED_ONLY = /only seed an empty config store, so this reload did not apply them\. Apply them as a new version with `meridian apply /;

describe('SIGHUP with an admin: section: the YAML’s zones, regions and services are seed-only', () => {
  let node: ApiNode;
  const lines = (re: RegExp): string[] =>
    node
      .output()
      .split('\n')
      .filter((l) => re.test(l));
  const sighup = async (): Promise<void> => {
    const before = lines(/"msg":"reloaded"/).length;
    process.kill(node.pid, 'SIGHUP');
    await until(() => lines(/"msg":"reloaded"/).length > before, 20_000, 'the node logged the reload');
  };
  const editAddress = (address: string): void => {
    const config = parse(readFileSync(node.configPath, 'utf8')) as { regions: { addresses: { ipv4: string[] } }[] };
    config.regions[0]!.addresses.ipv4 = [address];
    writeFileSync(node.configPath, stringify(config));
  };
  const answer = async (): Promise<string> => (await dig(['@127.0.0.1', '-p', String(node.port), '+short', `www.${Z}`, 'A'])).trim();

  before(async () => {
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: { regions: [US_EAST], services: [{ name: `www.${Z}`, ttl: 5, regions: ['us-east'] }] },
      env: { MERIDIAN_LOG_LEVEL: 'info' },
    });
  });
  after(() => node?.stop());

  test('an unchanged YAML reloads without the notice', async () => {
    await sighup();
    assert.deepEqual(lines(SEED_ONLY), []);
  });

  test('an edited YAML: one warning naming the file and meridian apply, once per content; the store’s config keeps answering', async () => {
    editAddress('192.0.2.77');
    await sighup();
    const first = lines(SEED_ONLY);
    assert.equal(first.length, 1, first.join('\n'));
    const entry = JSON.parse(first[0]!) as { level: number; file: string; configVersion: number; first: string[]; msg: string };
    assert.equal(entry.level, 40, 'warn');
    assert.deepEqual([entry.file, entry.configVersion, entry.first], [node.configPath, 1, ['/regions/0/addresses/ipv4/0']]);
    assert.ok(entry.msg.includes(`meridian apply ${node.configPath} --reason TEXT`), entry.msg);
    assert.equal(await answer(), US, 'the store’s version still answers');

    await sighup();
    assert.equal(lines(SEED_ONLY).length, 1, 'the same content is not reported again');
    editAddress('192.0.2.78');
    await sighup();
    assert.equal(lines(SEED_ONLY).length, 2, 'a new content is');
  });
});
