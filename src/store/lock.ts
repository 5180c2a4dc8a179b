/**
 * One writer per data directory. FileStore's compare-and-set is an in-process mutex, so a second
 * process (or a second FileStore in this one) on the same directory would break it: both would
 * write version n + 1. `meridian.lock` holds `<pid> <random token>`; a lock whose pid is no longer
 * running (the owner was killed) is taken over, which is what lets a node restart after kill -9.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';

export const LOCK_FILE = 'meridian.lock';

/** Directories locked by this process: the pid check cannot tell two of our own stores apart. */
const held = new Set<string>();

export interface DirLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function owner(text: string): number | null {
  const pid = Number.parseInt(text.trim().split(/\s+/)[0] ?? '', 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

export async function lockDir(dir: string): Promise<DirLock> {
  const key = resolve(dir);
  const path = join(key, LOCK_FILE);
  if (held.has(key)) throw new Error(`config store: ${dir} is already open in this process`);
  held.add(key);
  const content = `${process.pid} ${randomBytes(8).toString('hex')}\n`;
  try {
    try {
      await writeFile(path, content, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = owner(await readFile(path, 'utf8').catch(() => ''));
      // Our own pid in a lock we do not hold: a previous run with the same pid (container restarts).
      if (pid !== null && pid !== process.pid && alive(pid)) {
        throw new Error(`config store: ${dir} is in use by process ${pid} (remove ${path} if that process is not Meridian)`, { cause: err });
      }
      await writeFileAtomic(path, content);
      // Two processes taking over the same stale lock: the last rename wins, the other one backs off.
      if ((await readFile(path, 'utf8')) !== content) throw new Error(`config store: lost the race for ${path}`, { cause: err });
    }
  } catch (err) {
    held.delete(key);
    throw err;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      held.delete(key);
      // Only our own lock: never delete one that another process took over meanwhile.
      if ((await readFile(path, 'utf8').catch(() => '')) === content) await unlink(path).catch(() => undefined);
    },
  };
}
