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

/** The entries on the page by key: an entry is built once and kept, so a refresh never replaces a button being clicked. */
let shown = new Map();
let order = '';

function render() {
  const all = [...flips, ...history].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0)).slice(0, 200);
  const keys = all.map((e) => `${e.kind}|${e.time}|${e.text}`);
  if (keys.join('\n') === order) return;
  order = keys.join('\n');
  const next = new Map(keys.map((k, i) => [k, shown.get(k) ?? item(all[i])]));
  shown = next;
  const list = $('timeline');
  // Only new entries are inserted and gone ones removed; kept ones stay where they are.
  for (const li of [...list.children]) if (![...next.values()].includes(li)) li.remove();
  let at = list.firstElementChild;
  for (const li of next.values()) {
    if (li === at) at = at.nextElementSibling;
    else list.insertBefore(li, at);
  }
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
  shown = new Map();
  order = '';
  $('timeline').replaceChildren();
  $('diff').hidden = true;
}
