// The timeline: health flips (from the live feed), overrides (the audit log) and config versions
// (GET /v1/versions), newest first; a version's diff on click (GET /v1/versions/{n}).
import { getJson } from './api.js';
import { el, $ } from './dom.js';

let flips = [];
let history = [];

export function setFlips(list) {
  flips = list.map((f) => ({ time: f.time, kind: 'flip', text: `${f.target}: ${f.from} → ${f.to} (${f.source})` }));
  render();
}

/** Re-reads overrides and versions; the feed calls it when the version or the overrides change. */
export async function refreshHistory() {
  const [audit, versions] = await Promise.all([getJson('/v1/audit?limit=100'), getJson('/v1/versions?limit=30')]);
  const overrides = audit
    .filter((a) => a.action.startsWith('override.'))
    .map((a) => ({ time: a.time, kind: 'override', text: `${a.action} ${a.target}${a.detail?.state ? ` ${a.detail.state}` : ''} by ${a.author}${a.reason ? `: ${a.reason}` : ''}` }));
  const configs = versions.map((v) => ({ time: v.time, kind: 'version', version: v.version, text: `version ${v.version}: ${v.action} ${v.target} by ${v.author}${v.reason ? `: ${v.reason}` : ''}` }));
  history = [...overrides, ...configs];
  render();
}

function item(e) {
  const label = e.kind === 'version' ? el('button', { type: 'button', class: 'link', 'data-version': e.version }, e.text) : e.text;
  return el('li', { class: `event event-${e.kind}` }, el('time', { datetime: e.time }, e.time.replace('T', ' ').slice(0, 19)), ' ', el('span', { class: 'kind' }, e.kind), ' ', label);
}

function render() {
  const all = [...flips, ...history].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, 200);
  $('timeline').replaceChildren(...all.map(item));
}

async function showDiff(n) {
  const v = await getJson(`/v1/versions/${n}`);
  $('diff-title').textContent = `version ${v.version}: ${v.action} ${v.target} (${v.author}, ${v.time})`;
  $('diff-body').textContent = v.diff.length ? v.diff.map((d) => JSON.stringify(d, null, 2)).join('\n') : '(no change: the first version)';
  $('diff').hidden = false;
}

export function initTimeline(onError) {
  $('timeline').addEventListener('click', (ev) => {
    const n = ev.target.closest('[data-version]')?.getAttribute('data-version');
    if (n) showDiff(n).catch(onError);
  });
}

export function clearTimeline() {
  flips = [];
  history = [];
  $('timeline').replaceChildren();
  $('diff').hidden = true;
}
