#!/usr/bin/env node
// Writes src/admin/ui/public/world.json, the dashboard's offline world map: every country outline of
// the world-countries package (mledoze/countries, data/*.geo.json, ODbL 1.0)
// merged into one SVG path in an equirectangular projection (x = lon + 180, y = 90 - lat,
// a 360 x 180 box), simplified (Douglas-Peucker, 0.25 degrees) and rounded to 0.1 degree, rings
// smaller than a few square degrees' outline dropped. Run it again only to change the outline:
// `node scripts/world-outline.mjs`; the output is committed so that the page needs nothing at runtime.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DATA = join('node_modules', 'world-countries', 'data');
const TOLERANCE = 0.25;
const MIN_RING_SPAN = 1.0;

function perpendicular(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  if (len === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  return Math.abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / len;
}

function simplify(points) {
  if (points.length < 3) return points;
  let worst = 0;
  let at = 0;
  for (let i = 1; i < points.length - 1; i++) {
    const d = perpendicular(points[i], points[0], points[points.length - 1]);
    if (d > worst) [worst, at] = [d, i];
  }
  if (worst <= TOLERANCE) return [points[0], points[points.length - 1]];
  return [...simplify(points.slice(0, at + 1)).slice(0, -1), ...simplify(points.slice(at))];
}

function ringPath(ring) {
  const xs = ring.map((p) => p[0]);
  const ys = ring.map((p) => p[1]);
  if (Math.max(...xs) - Math.min(...xs) < MIN_RING_SPAN && Math.max(...ys) - Math.min(...ys) < MIN_RING_SPAN) return '';
  const pts = simplify(ring).map(([lon, lat]) => [Math.round((lon + 180) * 10) / 10, Math.round((90 - lat) * 10) / 10]);
  if (pts.length < 3) return '';
  return 'M' + pts.map((p) => `${p[0]} ${p[1]}`).join('L') + 'Z';
}

const parts = [];
for (const file of readdirSync(DATA)
  .filter((f) => f.endsWith('.geo.json'))
  .sort()) {
  const geo = JSON.parse(readFileSync(join(DATA, file), 'utf8'));
  for (const feature of geo.features) {
    const g = feature.geometry;
    if (!g) continue;
    const polygons = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    for (const polygon of polygons) parts.push(ringPath(polygon[0]));
  }
}
const pkg = JSON.parse(readFileSync(join('node_modules', 'world-countries', 'package.json'), 'utf8'));
const out = {
  source: `world-countries ${pkg.version} (data/*.geo.json), ODbL 1.0; simplified by scripts/world-outline.mjs`,
  viewBox: '0 0 360 180',
  d: parts.filter(Boolean).join(''),
};
writeFileSync(join('src', 'admin', 'ui', 'public', 'world.json'), JSON.stringify(out, null, 2) + '\n');
console.log(`world.json: ${parts.filter(Boolean).length} rings, ${out.d.length} characters`);
