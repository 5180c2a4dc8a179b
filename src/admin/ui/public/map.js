// The world map: the bundled outline (world.json, equirectangular: x = lon + 180, y = 90 - lat) with
// a circle per region at its configured location, coloured by state, sized by its answer share.
import { svg, $ } from './dom.js';

export const STATES = ['up', 'degraded', 'down', 'drained', 'overridden'];

let outline = null;

async function loadOutline() {
  if (!outline) outline = await fetch('world.json').then((r) => r.json());
  return outline;
}

/** Radius in map degrees: a region with no recent answers stays visible, one with all is large. */
const radius = (share) => 2 + 8 * Math.sqrt(Math.max(0, Math.min(1, share)));

export async function renderMap(regions) {
  const world = await loadOutline();
  const dots = regions.map((r) =>
    svg(
      'g',
      { class: `region state-${r.display}`, 'data-region': r.id, 'data-state': r.display },
      svg(
        'circle',
        { cx: (r.lon + 180).toFixed(2), cy: (90 - r.lat).toFixed(2), r: radius(r.share).toFixed(2) },
        svg('title', {}, `${r.id}: ${r.display}, ${(r.share * 100).toFixed(0)}% of recent answers`),
      ),
      svg('text', { x: (r.lon + 180 + radius(r.share) + 1).toFixed(2), y: (90 - r.lat + 1.5).toFixed(2) }, r.id),
    ),
  );
  const map = svg('svg', { viewBox: world.viewBox, role: 'img', 'aria-label': 'regions on a world map' }, svg('path', { class: 'land', d: world.d }), ...dots);
  $('map').replaceChildren(map);
}

export function renderLegend() {
  $('legend').replaceChildren(...STATES.map((s) => Object.assign(document.createElement('li'), { className: `state-${s}`, textContent: s })));
}
