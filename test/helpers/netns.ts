/**
 * A small routed network of Linux network namespaces for tests that need real hosts on real
 * addresses (port 53 on several machines, a resolver walking from a root): a router namespace with
 * one veth link and one /24 per host namespace, forwarding between them. Everything it makes is
 * removed by `close()`, which kills the processes started in it first (by their PIDs) and is safe
 * to call twice; tests call it in `after`/`finally` whatever happens.
 *
 *   const net = Lab.create('meridian', { client: '203.0.113.10/24', ns1: '198.51.100.53/24' });
 *   const p = net.spawn('ns1', ['nsd', '-d', '-c', conf]);
 *   await net.close();
 *
 * Names: `<prefix><pid>-<host>` (env MERIDIAN_NETNS_PREFIX replaces the prefix, e.g. to tell
 * engineers' namespaces apart). Needs root (`ip netns add`); `Lab.available()` says whether it can run.
 * @module
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface LabProcess {
  proc: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  exited: Promise<number | null>;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

export class Lab {
  private readonly procs: LabProcess[] = [];
  private readonly made: string[] = [];
  private closed = false;

  private constructor(private readonly prefix: string) {}

  /** True when this process may make namespaces (root with iproute2). */
  static available(): boolean {
    return process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  }

  /** The namespace name of a host. */
  ns(host: string): string {
    return `${this.prefix}-${host}`;
  }

  /**
   * A router namespace and one namespace per host, each host on its own /24 with the router at .254
   * of it, which is the host's default route. `hosts`: name → address/24 (extra addresses: `addAddress`).
   */
  static create(label: string, hosts: Record<string, string>): Lab {
    const lab = new Lab(`${process.env.MERIDIAN_NETNS_PREFIX ?? label}${process.pid}`);
    try {
      lab.make('rt');
      ip('netns', 'exec', lab.ns('rt'), 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      let i = 0;
      const nets = Object.values(hosts).map((c) => c.replace(/\.\d+\/\d+$/, ''));
      if (new Set(nets).size !== nets.length) throw new Error(`Lab: one /24 per host (${nets.join(', ')})`);
      for (const [host, cidr] of Object.entries(hosts)) {
        lab.make(host);
        const [addr, len] = cidr.split('/') as [string, string];
        const gw = addr.replace(/\.\d+$/, '.254');
        // Made in the current namespace under unique names, then moved and renamed (names are 15 bytes at most).
        const [a, b] = [`m${process.pid}x${i}`, `m${process.pid}y${i}`];
        i++;
        ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
        ip('link', 'set', a, 'netns', lab.ns(host), 'name', 'eth0');
        ip('link', 'set', b, 'netns', lab.ns('rt'), 'name', `to-${host}`.slice(0, 15));
        ip('-n', lab.ns(host), 'addr', 'add', cidr, 'dev', 'eth0');
        ip('-n', lab.ns(host), 'link', 'set', 'eth0', 'up');
        ip('-n', lab.ns(host), 'route', 'add', 'default', 'via', gw);
        ip('-n', lab.ns('rt'), 'addr', 'add', `${gw}/${len}`, 'dev', `to-${host}`.slice(0, 15));
        ip('-n', lab.ns('rt'), 'link', 'set', `to-${host}`.slice(0, 15), 'up');
      }
    } catch (err) {
      void lab.close();
      throw err;
    }
    return lab;
  }

  private make(host: string): void {
    ip('netns', 'add', this.ns(host));
    this.made.push(this.ns(host));
    ip('-n', this.ns(host), 'link', 'set', 'lo', 'up');
  }

  /** One more address on a host's link (same /24). */
  addAddress(host: string, cidr: string): void {
    ip('-n', this.ns(host), 'addr', 'add', cidr, 'dev', 'eth0');
  }

  /** Runs `argv` in a host's namespace; killed by close(). */
  spawn(host: string, argv: string[], opts: SpawnOptions = {}): LabProcess {
    const proc = spawn('ip', ['netns', 'exec', this.ns(host), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
    proc.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-200_000)));
    const exited = new Promise<number | null>((resolve) => {
      proc.once('error', () => resolve(-1));
      proc.once('exit', (code) => resolve(code));
    });
    const p = { proc, output: () => out, exited };
    this.procs.push(p);
    return p;
  }

  /** Runs a command in a host's namespace to its end. */
  run(host: string, argv: string[], timeoutMs = 30_000): { status: number | null; out: string } {
    const r = spawnSync('ip', ['netns', 'exec', this.ns(host), ...argv], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  /** Kills what it started (SIGTERM, then SIGKILL after 3 s), then deletes every namespace it made. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGTERM');
    await Promise.all(
      this.procs.map(async (p) => {
        const timer = setTimeout(() => p.proc.kill('SIGKILL'), 3_000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    // Deleting a namespace removes its veth ends (and their peers) with it.
    for (const name of this.made.reverse()) spawnSync('ip', ['netns', 'del', name]);
  }
}
