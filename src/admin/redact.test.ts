import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialParams, redactUrl } from './redact.js';

describe('credentials in URLs', () => {
  it('finds credential-named parameters, and only those', () => {
    assert.deepEqual(credentialParams('/v1/status?token=x&access_token=y&api-key=z&X.Auth=w&client_secret=v&password=u'), ['token', 'access_token', 'api-key', 'X.Auth', 'client_secret', 'password']);
    assert.deepEqual(credentialParams('/v1/audit?author=ops&action=x&limit=5&monkey=1&keyword=a&format=jsonl'), []);
    assert.deepEqual(credentialParams('/v1/status'), []);
  });

  it('redacts their values in a URL and leaves the rest as written', () => {
    assert.equal(redactUrl('/v1/status?a=1&token=s3cr%65t&b&apikey=k'), '/v1/status?a=1&token=[REDACTED]&b&apikey=[REDACTED]');
    assert.equal(redactUrl('/v1/audit?author=ops'), '/v1/audit?author=ops');
    assert.equal(redactUrl('/v1/x?%E0%A4%A=1'), '/v1/x?%E0%A4%A=1');
  });

  // Fresh-eyes review of issue 16: these were answered and logged as written.
  const secret = 'mrd_' + 'A'.repeat(43);
  it('judges token[] and token%00 as token, pwd and session as credentials', () => {
    assert.deepEqual(credentialParams('/v1/status?token[]=x&token%00=y&pwd=z&session=w'), ['token[]', 'token\0', 'pwd', 'session']);
    assert.equal(redactUrl('/v1/status?token[]=x&pwd=z'), '/v1/status?token[]=[REDACTED]&pwd=[REDACTED]');
  });

  it('finds and redacts a Meridian secret under any name, a malformed one included', () => {
    assert.deepEqual(credentialParams(`/v1/regions/a/weight?reason=${secret}`), ['reason']);
    assert.equal(redactUrl(`/v1/regions/a/weight?reason=${secret}&dryRun=1`), '/v1/regions/a/weight?reason=[REDACTED]&dryRun=1');
    assert.equal(redactUrl(`/v1/status?%zztoken=${secret}`), '/v1/status?%zztoken=[REDACTED]');
  });

  it('redacts a Meridian secret pasted into the path (second fresh-eyes review: it was logged as written)', () => {
    assert.equal(redactUrl(`/v1/regions/${secret}`), '/v1/regions/[REDACTED]');
    assert.equal(redactUrl(`/v1/regions/${secret}/endpoints?reason=x`), '/v1/regions/[REDACTED]/endpoints?reason=x');
    assert.equal(redactUrl(`/v1/regions/x${encodeURIComponent(secret)}y`), '/v1/regions/[REDACTED]');
    assert.equal(redactUrl('/v1/regions/eu-west'), '/v1/regions/eu-west');
  });
});
