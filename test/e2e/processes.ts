/**
 * Processes on the e2e hosts: each is started with `ip netns exec <host's namespace>`, which execs
 * the command in place, so the pid we hold is the program's own and a signal reaches it exactly as
 * on a real host. Output goes to `<logDir>/<name>.log` (kept for a post-mortem) and the last part
 * stays in memory for readiness checks.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

const KEEP_CHARS = 512 * 1024;

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** CPU time (user + system) a process has used so far, in ms (Linux clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export class Proc {
  private text = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly pid: number;
  private done = false;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    log: WriteStream,
  ) {
    this.pid = child.pid ?? -1;
    const take = (d: Buffer): void => {
      log.write(d);
      this.text = (this.text + d.toString()).slice(-KEEP_CHARS);
      for (const w of [...this.waiters]) w();
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.done = true;
        for (const w of [...this.waiters]) w();
        resolve({ code, signal });
      });
    });
    // Output can still arrive after 'exit'; the pipes are done only at 'close'.
    child.once('close', () => log.end());
  }

  get running(): boolean {
    return !this.done;
  }

  output(): string {
    return this.text;
  }

  /** Resolves once the output contains `needle`; rejects if the process exits or time runs out. */
  waitFor(needle: string | RegExp, timeoutMs: number): Promise<void> {
    const seen = (): boolean => (typeof needle === 'string' ? this.text.includes(needle) : needle.test(this.text));
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = (): void => {
        if (seen()) finish();
        else if (this.done) finish(new Error(`${this.name} exited before printing ${String(needle)}:\n${this.tail()}`));
      };
      const timer = setTimeout(() => finish(new Error(`${this.name}: no ${String(needle)} within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  tail(lines = 15): string {
    return this.text.split('\n').slice(-lines).join('\n');
  }

  signal(sig: NodeJS.Signals): void {
    if (this.done) return;
    try {
      process.kill(this.pid, sig);
    } catch {
      // exited meanwhile
    }
  }

  /** A crash: SIGKILL, then waits for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts processes in namespaces and remembers them, so that one call stops them all. */
export class ProcessSet {
  private readonly procs = new Set<Proc>();
  private seq = 0;

  constructor(private readonly logDir: string) {}

  spawn(ns: string, name: string, argv: string[], opts: SpawnOptions = {}): Proc {
    const log = createWriteStream(join(this.logDir, `${name}.${++this.seq}.log`));
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const proc = new Proc(name, child, log);
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Stops every process still running (SIGTERM, SIGKILL after `graceMs`). */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop(graceMs)));
  }
}
