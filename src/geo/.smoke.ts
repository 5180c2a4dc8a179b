import { GeoDatabase } from './reader.js';
import { resolveDatabasePath } from './source.js';
for (const p of ['geodb/test-city.mmdb', 'geodb/test-flat.mmdb', resolveDatabasePath('embedded')]) {
  const t0 = performance.now();
  const db = GeoDatabase.open(p);
  console.log(p, (performance.now() - t0).toFixed(1), 'ms', db.description);
  for (const a of ['2.16.32.200', '2.200.0.1', '2.16.0.1', '198.51.100.7', '::ffff:2.16.32.200', '2001:db8:1:100::1', '2001:db8::1', '203.0.113.200', '8.8.8.8', '1.1.1.1', '193.0.0.1', '2001:4860:4860::8888'])
    console.log('  ', a, JSON.stringify(db.lookup(a)));
  console.log('  bytes ::ffff:2.16.32.200', JSON.stringify(db.lookupBytes(2, Buffer.from('00000000000000000000ffff021020c8', 'hex'))));
}
