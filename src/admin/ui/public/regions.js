// The region table: configured and effective weight, answer share, forwarder connections, and each
// endpoint with every live vantage's vote.
import { el, $ } from './dom.js';

function vote(v) {
  const rtt = v.rttMs === null ? '' : ` ${v.rttMs.toFixed(1)} ms`;
  const err = v.error ? ` (${v.error})` : '';
  return el('li', { class: `vote vote-${v.status}` }, `${v.vantage}: ${v.status}${rtt}${err}`);
}

function endpoint(e) {
  const forced = e.override ? ` override ${e.override.state}` : '';
  return el('li', { class: `endpoint state-${e.state}` }, `${e.id} ${e.state} (${e.source}${forced}, ${e.up}/${e.live} up)`, el('ul', {}, e.votes.map(vote)));
}

// Past SHOWN endpoints a region shows a count per state and its first SHOWN endpoints that are not
// up or are overridden: rebuilding thousands of list items on every state kept the renderer busy
// 7 of 10 s with 3,000 endpoints (fresh-eyes review). The whole list: `meridian status`.
const SHOWN = 20;

function endpointList(list) {
  if (list.length === 0) return el('span', { class: 'muted' }, 'none');
  if (list.length <= SHOWN) return el('ul', {}, list.map(endpoint));
  const counts = new Map();
  for (const e of list) counts.set(e.state, (counts.get(e.state) ?? 0) + 1);
  const notable = list.filter((e) => e.state !== 'up' || e.override);
  const shown = notable.slice(0, SHOWN);
  const more = notable.length > shown.length ? `, ${notable.length - shown.length} more not shown` : '';
  return el(
    'div',
    { class: 'endpoint-summary' },
    el('div', {}, `${list.length} endpoints: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}`),
    shown.length ? el('ul', {}, shown.map(endpoint)) : null,
    el('div', { class: 'muted' }, `listed: those not up or overridden${more}; all of them: meridian status`),
  );
}

function row(r) {
  const h = r.health;
  const forced = h ? h.endpoints.filter((e) => e.override) : [];
  const why = h?.override
    ? `override by ${h.override.author}: ${h.override.reason}`
    : forced.length
      ? `from ${h.source}; endpoint override: ${forced.map((e) => `${e.id} ${e.override.state} by ${e.override.author}: ${e.override.reason}`).join('; ')}`
      : h
        ? `from ${h.source}`
        : 'not served yet';
  // A completed drain is just drained.
  const drain = r.configured.draining && r.display !== 'drained' ? ' (draining)' : '';
  return el(
    'tr',
    { 'data-region': r.id, 'data-state': r.display },
    el('th', { scope: 'row' }, r.id, el('div', { class: 'muted' }, `${r.country}, ${r.continent}`)),
    el('td', {}, el('span', { class: `badge state-${r.display}` }, r.display + drain), el('div', { class: 'muted' }, why)),
    el('td', { class: 'weight' }, r.configured.weight),
    el('td', { class: 'effective' }, r.effectiveWeight),
    el('td', { class: 'share' }, `${(r.share * 100).toFixed(1)}%`),
    el('td', { class: 'forwarder' }, r.forwarderConnections ?? '–'),
    el('td', {}, endpointList(h ? h.endpoints : [])),
  );
}

export function renderRegions(regions) {
  $('regions').tBodies[0].replaceChildren(...regions.map(row));
}
