// The dashboard's only way to the admin API: the token lives in this module's memory (never in a
// URL, storage or a cookie) and goes in the Authorization header of each request.
let token = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? null;
  }
}

export function setToken(value) {
  token = value;
}

export function signedIn() {
  return token !== null;
}

function headers() {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** GET a JSON resource of the admin API; throws ApiError on a non-2xx answer. */
export async function getJson(path) {
  const res = await fetch(path, { headers: headers(), cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/**
 * Reads the server-sent events of `path` with fetch (EventSource cannot send a header) and calls
 * `onEvent(name, data)` for each; resolves when the stream ends or `signal` aborts it.
 */
export async function readEvents(path, signal, onEvent) {
  const res = await fetch(path, { headers: headers(), signal, cache: 'no-store' });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}
