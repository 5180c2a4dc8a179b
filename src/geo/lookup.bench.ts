/**
 * Micro-benchmark of geo lookups on the embedded database (1.3 M nodes), against maxmind's own
 * `getWithPrefixLength` on the same file. Addresses are drawn from a fixed pseudo-random sequence so
 * runs compare; a warm-up pass fills the per-network result cache first, as a busy server's would be.
 * Bounded: a fixed number of iterations per case. Not part of the tests.
 * Run: `node --import tsx src/geo/lookup.bench.ts` (BENCH_ITERATIONS to change the count).
 */
import { Reader } from 'maxmind';
import { readFileSync } from 'node:fs';
import { formatIPv4, formatIPv6 } from './address.js';
import { GeoDatabase } from './reader.js';
import { resolveDatabasePath } from './source.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 1_000_000);
const path = resolveDatabasePath(process.argv[2] ?? 'embedded');
const db = GeoDatabase.open(path);
const maxmind = new Reader(readFileSync(path));

// xorshift32: the same addresses on every run.
let seed = 0x9e3779b9;
const next = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
const COUNT = 4096; // distinct clients per case: more than a CPU cache line set, fewer than the result cache
const v4 = Array.from({ length: COUNT }, () => next());
const v4text = v4.map(formatIPv4);
const v4bytes = v4.map((a) => Buffer.from([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]));
// IPv6: random addresses inside the RIRs' big blocks (2400::/12 APNIC, 2600::/12 ARIN, 2800::/12
// LACNIC, 2a00::/12 RIPE), kept only when the database knows them, so the found path is measured.
const v6bytes: Buffer[] = [];
while (v6bytes.length < COUNT) {
  const b = Buffer.alloc(16);
  b.writeUInt32BE((([0x2400, 0x2600, 0x2800, 0x2a00][next() & 3]! + (next() & 0xf)) * 0x10000 + (next() & 0xffff)) >>> 0, 0);
  b.writeUInt32BE(next(), 4);
  if (db.lookupBytes(2, b)) v6bytes.push(b);
}
// Many more distinct clients than the result cache holds: every lookup builds its result.
const cold = Array.from({ length: 1 << 20 }, () => {
  const a = next();
  return Buffer.from([a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]);
});
const v6text = v6bytes.map((b) => formatIPv6(b));

function run(name: string, fn: (i: number) => unknown, count = COUNT): void {
  for (let i = 0; i < 200_000; i++) fn(i & (count - 1)); // JIT warm-up and cache fill
  const t0 = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < N; i++) if (fn(i & (count - 1))) sink++;
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`| ${name} | ${Math.round((N / ns) * 1e9).toLocaleString('en-US')} | ${(ns / N).toFixed(0)} | ${((sink / N) * 100).toFixed(0)}% |`);
}

console.log(`database: ${db.description.type}, ${db.description.nodeCount} nodes; ${N} lookups per case\n`);
console.log('| case | ops/s | ns/op | found |\n|---|---:|---:|---:|');
run('GeoDatabase.lookupBytes IPv4', (i) => db.lookupBytes(1, v4bytes[i]!));
run('GeoDatabase.lookupBytes IPv4, 1 M distinct (cache misses)', (i) => db.lookupBytes(1, cold[i]!), cold.length);
run('GeoDatabase.lookup IPv4 text', (i) => db.lookup(v4text[i]!));
run('maxmind getWithPrefixLength IPv4 text (raw record)', (i) => maxmind.getWithPrefixLength(v4text[i]!)[0]);
run('GeoDatabase.lookupBytes IPv6', (i) => db.lookupBytes(2, v6bytes[i]!));
run('GeoDatabase.lookup IPv6 text', (i) => db.lookup(v6text[i]!));
run('maxmind getWithPrefixLength IPv6 text (raw record)', (i) => maxmind.getWithPrefixLength(v6text[i]!)[0]);
