// The explain form: name + client IP -> GET /v1/explain, the decision step by step as the API returns it.
import { getJson } from './api.js';
import { el, $ } from './dom.js';

function render(x) {
  return el(
    'div',
    { class: 'explanation' },
    el('p', {}, `${x.name} → service ${x.service} for ${x.client} (${x.qtype}), config version ${x.version}`),
    x.cnames.length ? el('p', { class: 'muted' }, `via ${x.cnames.join(', ')}`) : null,
    el('p', {}, `chain: ${x.chain.join(' → ')}`),
    el(
      'ol',
      { class: 'steps' },
      x.steps.map((s) => el('li', {}, s)),
    ),
    el('p', { class: 'answer' }, `${x.rcode}: ${x.addresses.join(', ') || '(no address)'} TTL ${x.ttl}${x.allDown ? ' (all down)' : ''}`),
  );
}

export function initExplain() {
  $('explain-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams({ name: $('explain-name').value.trim(), ip: $('explain-ip').value.trim() });
    try {
      $('explain-result').replaceChildren(render(await getJson(`/v1/explain?${q}`)));
    } catch (err) {
      $('explain-result').replaceChildren(el('p', { class: 'error' }, err.message));
    }
  });
}
