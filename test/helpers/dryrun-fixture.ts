/**
 * The deployment dry-run load is measured on (test/admin/dry-run-loop.test.ts, bench/admin/dryrun-dns.ts):
 * weighted services over three shared regions, a lone region for one service, and 1,000 distinct
 * client addresses for `?sample=`.
 * @module
 */
export const Z = 'gslb.example.com';
export const ZONE = `$ORIGIN ${Z}.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n`;

const region = (id: string, lat: number, lon: number, continent: string, country: string, ip: string, ip6: string) => ({
  id,
  location: { lat, lon, continent, country },
  addresses: { ipv4: [ip], ipv6: [ip6] },
});

export const REGIONS = [
  region('eu-west', 53.35, -6.26, 'EU', 'IE', '198.51.100.10', '2001:db8:b::1'),
  region('us-east', 39.04, -77.49, 'NA', 'US', '192.0.2.10', '2001:db8:a::1'),
  region('ap-southeast', 1.35, 103.82, 'AS', 'SG', '203.0.113.10', '2001:db8:c::1'),
  region('lone', 50.11, 8.68, 'EU', 'DE', '192.0.2.99', '2001:db8:d::1'),
];

/** `count` services `s<i>` sharing eu-west, us-east and ap-southeast by weight. */
export const sharedServices = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `s${i}.${Z}`, ttl: 30, regions: ['eu-west', 'us-east', 'ap-southeast'], policy: { weighted: {} } }));

/** 1,000 distinct client addresses (v4 and v6), as `?sample=` takes them. */
export const ADDRESSES = Array.from({ length: 1000 }, (_, i) => (i % 4 === 3 ? `2001:db8:${i.toString(16)}::1` : `10.${i >> 8}.${i & 255}.7`));
export const SAMPLE = ADDRESSES.join(',');
