/**
 * Regressions (issue 16, defects 6 and 7) through a real `meridian serve` with its admin API:
 * - the per-address limit counted every request, so a few bad tokens from one address (a
 *   misconfigured script behind the operators' NAT) locked a valid token out of that address for
 *   the rest of the minute. It now counts only requests without a valid token, and a valid token
 *   gets through; bad ones past the limit are still refused (429);
 * - a token in the query string was written to the request log. It is never accepted (the request
 *   is refused, coded) and the log shows it redacted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newSecret } from '../../src/admin/auth.js';
import { startMeridianWithApi, type ApiNode } from '../helpers/apiproc.js';

const ZONE = '$ORIGIN gslb.example.com.\n$TTL 300\n@ SOA ns1 host 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 127.0.0.1\n';
/** admin.rateLimit: requests a minute per address (without a valid token) and per token. */
const LIMIT = 5;

describe('admin API: token hygiene', () => {
  let node: ApiNode;
  let secret = '';
  before(async () => {
    node = await startMeridianWithApi({ zones: [{ origin: 'gslb.example.com', text: ZONE }], admin: { rateLimit: LIMIT }, env: { MERIDIAN_LOG_LEVEL: 'info' } });
    secret = readFileSync(path.join(node.dir, 'data', 'admin-token'), 'utf8').trim();
  });
  after(() => node?.stop());

  const get = async (url: string, token: string | null): Promise<{ status: number; code: string | undefined }> => {
    const res = await fetch(`http://127.0.0.1:${node.apiPort}${url}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { error?: { code: string } };
    return { status: res.status, code: body.error?.code };
  };

  it('a token in the query string is refused, never accepted, and redacted from the request log', async () => {
    assert.deepEqual(await get(`/v1/status?token=${secret}`, null), { status: 400, code: 'MERIDIAN_ERR_VALIDATION' });
    assert.deepEqual(await get(`/v1/status?authorization=${secret}`, secret), { status: 400, code: 'MERIDIAN_ERR_VALIDATION' });
    // `author` is the audit log's filter, not a credential.
    assert.equal((await get('/v1/audit?author=bootstrap', secret)).status, 200);
    assert.deepEqual(await get(`/v1/status?verbose=1&access_token=${encodeURIComponent(secret)}`, secret), { status: 400, code: 'MERIDIAN_ERR_VALIDATION' }, 'even beside a valid header');
    // A secret under any name (a pasted token as the reason), and token[] and pwd, are refused too.
    assert.deepEqual(await get(`/v1/audit?reason=${secret}`, secret), { status: 400, code: 'MERIDIAN_ERR_VALIDATION' });
    assert.deepEqual(await get(`/v1/status?token[]=x&pwd=y`, secret), { status: 400, code: 'MERIDIAN_ERR_VALIDATION' });
    // A token pasted as an id in the path (second fresh-eyes review: logged as written).
    assert.equal((await get(`/v1/regions/${secret}`, secret)).status, 400, 'not a region id');
    // The request log line is written before the answer; give the pipe a moment to deliver it.
    const deadline = Date.now() + 10_000;
    while (!/access_token=\[REDACTED\]/.test(node.output()) || !/\/v1\/regions\/\[REDACTED\]/.test(node.output())) {
      assert.ok(Date.now() < deadline, 'the request is logged, redacted');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(node.output(), /token=\[REDACTED\]/);
    assert.match(node.output(), /\/v1\/regions\/\[REDACTED\]/);
    assert.ok(!node.output().includes(secret), 'the secret is nowhere in the output');
  });

  it('counts only failed authentication per address: past the limit bad tokens get 429, a valid token gets through', async () => {
    // The query-string test above spent one request of this address's budget (the one without a valid header).
    for (let i = 1; i < LIMIT; i++) assert.equal((await get('/v1/status', newSecret())).status, 401);
    assert.deepEqual(await get('/v1/status', newSecret()), { status: 429, code: 'MERIDIAN_ERR_RATE_LIMITED' }, 'guessing is limited');
    assert.equal((await get('/v1/status', secret)).status, 200, 'a valid token from the same address gets through');
    assert.equal((await get('/v1/status', secret)).status, 200, 'and is not counted against the address');
    assert.deepEqual(await get('/v1/status', null), { status: 429, code: 'MERIDIAN_ERR_RATE_LIMITED' }, 'still limited without a valid token');
  });
});
