/**
 * What `npm pack` would publish (issue 19): the demo's data directory holds its bootstrap admin
 * token and its versions, so it must never ship; the license, changelog and the demo config must.
 * Runs the real `npm pack --dry-run` (scripts off: no build needed to list the files).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../..', import.meta.url).pathname;

function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  return pack!.files.map((f) => f.path);
}

describe('npm pack', { timeout: 60_000 }, () => {
  it('ships the license, the changelog and the demo config, never the demo data directory', () => {
    // A demo data directory as `npm start` leaves it, with its token file, whether or not one ran here.
    const data = join(ROOT, 'zones', 'data');
    const probe = join(data, 'pack-test-token');
    mkdirSync(data, { recursive: true });
    writeFileSync(probe, 'mrd_secret');
    try {
      const files = packedFiles();
      for (const f of ['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json', 'zones/meridian.yaml', 'zones/gslb.example.com.zone', 'geodb/test-city.mmdb']) {
        assert.ok(files.includes(f), `${f} is packed`);
      }
      assert.deepEqual(
        files.filter((f) => f.startsWith('zones/data') || f.startsWith('appendonlydir') || f.startsWith('test/') || f.startsWith('src/')),
        [],
      );
    } finally {
      rmSync(probe, { force: true });
    }
  });
});
