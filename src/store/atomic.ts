/**
 * The one atomic file write of the config store (file.ts, local-copy.ts): write a temp file in the
 * target's directory, fsync it, rename it over the target, fsync the directory. rename(2) within one
 * file system replaces the name atomically, so a reader, or a process restarted after kill -9 or a
 * power cut, sees the old content or the new one, never a prefix; the directory fsync makes the
 * rename itself durable before we report success.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Temp names start with a dot and end in `.tmp`: directory scans that look for `<n>.json` never
 * match them, and removeStaleTemps can find them after a crash.
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempPathFor(path);
  // 'wx': a name collision (pid reuse + same random suffix) must fail, not interleave two writers.
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Makes renames and new names in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some platforms and file systems cannot fsync a directory; the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  } finally {
    await fh.close();
  }
}

/**
 * Deletes temp files a crash left in `dir` (they never hold committed state: the rename is the
 * commit). Only for directories this process owns exclusively, or a live writer's temp would go.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith('.') || !name.endsWith('.tmp')) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}
