/**
 * `meridian token hash` through the real CLI: a secret the API would refuse (too short, or with
 * characters outside a bearer token's) is refused with a coded line and exit 2, so its hash never
 * reaches a config where every call with it would get a bare 401; a valid one prints its SHA-256.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { cli } from '../helpers/cli.js';

const tokenHash = async (stdin: string): Promise<{ code: number; out: string; err: string }> => {
  const r = await cli(['token', 'hash'], { input: stdin });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('meridian token hash', () => {
  it('refuses a secret the API would refuse, with a coded line, the usage and exit 2', async () => {
    for (const secret of ['short-secret1', 'has spaces in it, long enough', 'x'.repeat(201)]) {
      const r = await tokenHash(secret + '\n');
      assert.equal(r.code, 2, `${secret}: ${r.err}`);
      assert.equal(r.out, '');
      assert.match(r.err, /^token hash: MERIDIAN_ERR_USAGE: a secret is 16 to 200 characters/);
    }
  });

  it('prints the SHA-256 of a valid secret', async () => {
    const secret = 'ops-0123456789abcdef';
    const r = await tokenHash(secret + '\n');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), createHash('sha256').update(secret).digest('hex'));
  });
});
