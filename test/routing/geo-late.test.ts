/**
 * A geo rule that arrives after start, through the admin API, finds the geo database loaded: a
 * node that started with no service needing geo opens it when a config version that needs it is
 * applied. Real `meridian serve` with the fixture city database (geodb/test-city.mmdb: 3.0.0.0/8
 * is Ashburn, NA; 2.0.0.0/8 outside 2.16/16 is Paris, EU), queried over UDP with ECS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ecsQueries, udpPipeline } from '../helpers/client.js';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';
import { answerOf } from '../helpers/routing.js';

const Z = 'gslb.example.com';
const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;
const GEODB = new URL('../../geodb/test-city.mmdb', import.meta.url).pathname;
const US = '192.0.2.10';
const EU = '198.51.100.10';

describe('a geo service added through the API after start', () => {
  let node: ApiNode;
  before(async () => {
    node = await startMeridianWithApi({
      zones: [{ origin: Z, text: ZONE }],
      extra: {
        geo: { database: GEODB },
        regions: [
          { id: 'us-east', location: { lat: 39, lon: -77, continent: 'NA', country: 'US' }, addresses: { ipv4: [US] } },
          { id: 'eu-west', location: { lat: 53, lon: -6, continent: 'EU', country: 'IE' }, addresses: { ipv4: [EU] } },
        ],
        // Nothing needs geo at start.
        services: [{ name: `www.${Z}`, regions: ['us-east', 'eu-west'], policy: { failover: ['us-east', 'eu-west'] } }],
      },
    });
  });
  after(() => node?.stop());

  test('clients on two continents get their own region', async () => {
    const put = await node.api('PUT', `/v1/services/geo.${Z}`, { regions: ['us-east', 'eu-west'], policy: { geo: { continents: { NA: ['us-east'], EU: ['eu-west'] } } } });
    assert.equal(put.status, 201, put.text);
    const deadline = Date.now() + 10_000;
    while ((await node.applied()) < put.json.version) {
      assert.ok(Date.now() < deadline, 'the version was not applied');
      await new Promise((r) => setTimeout(r, 20));
    }
    const [ashburn, paris] = (await udpPipeline(node.port, ecsQueries(`geo.${Z}`, 'A', ['3.0.0.0/24', '2.1.2.0/24'], { rd: false }))).map(answerOf);
    assert.deepEqual(ashburn!.addresses, [US], JSON.stringify(ashburn));
    assert.deepEqual(paris!.addresses, [EU], JSON.stringify(paris));
    // The answer depended on the geo network, and says so.
    assert.ok(paris!.scope! > 0, JSON.stringify(paris));
  });
});
