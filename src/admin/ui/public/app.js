// The dashboard: sign in with a token, then follow /ui/events (the state when it changed) until signed out.
import { ApiError, getJson, readEvents, setToken } from './api.js';
import { $ } from './dom.js';
import { initExplain } from './explain.js';
import { renderLegend, renderMap } from './map.js';
import { renderRegions } from './regions.js';
import { clearTimeline, initTimeline, refreshHistory, setFlips } from './timeline.js';

let feed = null;
let seen = '';

function showError(err) {
  $('feed-status').textContent = err.message;
}

async function onState(state) {
  $('node-status').textContent = `config version ${state.version} · ${state.vantages.length} vantage(s) · ${state.answersSampled} sampled answers · ${state.at}`;
  renderRegions(state.regions);
  setFlips(state.flips);
  await renderMap(state.regions);
  // Overrides and versions come from the API, re-read when either changed.
  // Endpoint overrides too: one set alone changes neither the version nor a region's override.
  const forced = (r) => (r.health?.endpoints ?? []).map((e) => `${e.id}=${e.override?.state ?? ''}`).join('+');
  const signature = `${state.version}|${state.regions.map((r) => `${r.id}:${r.health?.override?.state ?? ''}:${forced(r)}`).join(',')}`;
  if (signature !== seen) {
    seen = signature;
    refreshHistory().catch(showError);
  }
}

// Reconnects when the stream ends (the server ends each after a while) after RETRY_MS; after a
// failure (429 when too many streams are open, the API down) waits twice as long each time, to
// MAX_RETRY_MS.
const RETRY_MS = 2000;
const MAX_RETRY_MS = 60_000;

async function follow(signal) {
  let wait = RETRY_MS;
  while (!signal.aborted) {
    try {
      $('feed-status').textContent = 'live';
      await readEvents('/ui/events', signal, (name, data) => {
        wait = RETRY_MS;
        if (name === 'state') onState(data).catch(showError);
      });
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) return signOut('the token is no longer valid');
      showError(err);
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

function signOut(message = '') {
  feed?.abort();
  feed = null;
  seen = '';
  setToken(null);
  $('dashboard').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('node-status').textContent = '';
  $('regions').tBodies[0].replaceChildren();
  $('map').replaceChildren();
  clearTimeline();
}

async function signIn(ev) {
  ev.preventDefault();
  const input = $('token');
  setToken(input.value.trim());
  input.value = '';
  try {
    await getJson('/v1/status');
  } catch (err) {
    setToken(null);
    $('login-error').textContent = err instanceof ApiError && err.status === 401 ? 'Refused: not a valid token.' : `Refused: ${err.message}`;
    return;
  }
  $('login-error').textContent = '';
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('logout').hidden = false;
  feed = new AbortController();
  void follow(feed.signal);
}

renderLegend();
initTimeline(showError);
initExplain();
$('login-form').addEventListener('submit', signIn);
$('logout').addEventListener('click', () => signOut());
