/**
 * A small internet on one machine: every host is a network namespace with one address on `eth0`,
 * wired by a veth pair to a router namespace (`inet`) that forwards between all of them. Hosts are
 * unnumbered point-to-point links (the router answers on 10.255.255.1 at every port), so any address
 * works for any host: clients get addresses the test geo database places on a continent, the rest
 * live in 10.0.0.0/8, which the database does not know.
 *
 * Failures are made as on real hosts:
 * - `cut(host)` takes the host's own link down (its cable pulled): packets to it are lost, senders
 *   time out; `restore(host)` brings it back with its route.
 * - `partition(from, to)` adds `blackhole` policy rules on the router for both directions between
 *   `from` and each network in `to`: packets are dropped silently on the path, as in a real partition.
 *
 * Namespaces are named `<prefix><host>`; `prefix` carries the run's pid (`mrd-<pid>-`), so a sweep at
 * start removes exactly the namespaces of earlier runs whose process is gone, never another live
 * run's, and never a namespace without the prefix.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** The router's address on every port: each host's default gateway. */
const GATEWAY = '10.255.255.1';
/** The router namespace's host name. */
export const ROUTER = 'inet';

export interface HostSpec {
  /** Short name (the namespace is `<prefix><name>`); at most 12 characters (interface names). */
  name: string;
  address: string;
}

export class TopologyError extends Error {}

/** Runs `ip` with arguments; throws with its stderr on failure. */
export function ip(...args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new TopologyError(`ip ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/**
 * Why the topology cannot be built here, or null. Drills fail loudly on this; they are never
 * skipped silently (issue 15).
 */
export function unsupportedReason(): string | null {
  if (process.getuid?.() !== 0) return 'the e2e drills need root (ip netns, veth)';
  try {
    ip('netns', 'list');
  } catch (err) {
    return `ip netns does not work here: ${(err as Error).message}`;
  }
  return null;
}

export function listNamespaces(): string[] {
  const dir = '/run/netns';
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** `<base>-<pid>-` */
export function runPrefix(base: string, pid = process.pid): string {
  return `${base}-${pid}-`;
}

/**
 * Deletes the namespaces `<base>-<pid>-*` of runs whose pid is no longer alive (killed with -9, or a
 * machine that rebooted into a stale /run/netns). Returns what it deleted.
 */
export function sweepStale(base: string): string[] {
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-`);
  const gone: string[] = [];
  for (const ns of listNamespaces()) {
    const m = re.exec(ns);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    killNamespace(ns);
    gone.push(ns);
  }
  return gone;
}

/** SIGKILLs every process left in the namespace, then deletes it. Never throws. */
export function killNamespace(ns: string): void {
  try {
    for (const pid of ip('netns', 'pids', ns).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // the namespace may be half made
  }
  try {
    ip('netns', 'del', ns);
  } catch {
    // already deleted
  }
}

export class Topology {
  readonly hosts = new Map<string, HostSpec>();
  private readonly rules: string[][] = [];

  constructor(readonly prefix: string) {}

  /** The topology another process built (the drills' stage): nothing is created. */
  static attach(prefix: string, hosts: HostSpec[]): Topology {
    const t = new Topology(prefix);
    for (const h of hosts) t.hosts.set(h.name, h);
    return t;
  }

  ns(host: string): string {
    return this.prefix + host;
  }

  address(host: string): string {
    const h = this.hosts.get(host);
    if (!h) throw new TopologyError(`no host ${host}`);
    return h.address;
  }

  /** Creates the router and every host; on failure deletes what it made and throws. */
  build(hosts: HostSpec[]): void {
    try {
      this.addNamespace(ROUTER);
      this.sysctl(ROUTER, 'net.ipv4.ip_forward=1');
      // Unknown destinations are dropped silently, as on a real path, instead of an ICMP error.
      ip('-n', this.ns(ROUTER), 'route', 'add', 'blackhole', 'default');
      for (const h of hosts) this.addHost(h);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  private addNamespace(host: string): void {
    ip('netns', 'add', this.ns(host));
    ip('-n', this.ns(host), 'link', 'set', 'lo', 'up');
    // IPv4 only: no IPv6 link-local addresses, DAD or router solicitations on the wire.
    this.sysctl(host, 'net.ipv6.conf.all.disable_ipv6=1');
  }

  private sysctl(host: string, setting: string): void {
    execFileSync('ip', ['netns', 'exec', this.ns(host), 'sysctl', '-qw', setting], { stdio: 'ignore' });
  }

  private addHost(h: HostSpec): void {
    if (h.name.length > 12) throw new TopologyError(`host name ${h.name} is longer than 12 characters`);
    this.hosts.set(h.name, h);
    this.addNamespace(h.name);
    const port = `v-${h.name}`;
    ip('-n', this.ns(ROUTER), 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.ns(h.name));
    ip('-n', this.ns(ROUTER), 'addr', 'add', `${GATEWAY}/32`, 'dev', port);
    ip('-n', this.ns(ROUTER), 'link', 'set', port, 'up');
    ip('-n', this.ns(h.name), 'addr', 'add', `${h.address}/32`, 'dev', 'eth0');
    ip('-n', this.ns(h.name), 'link', 'set', 'eth0', 'up');
    this.routes(h);
  }

  private routes(h: HostSpec): void {
    ip('-n', this.ns(h.name), 'route', 'replace', 'default', 'via', GATEWAY, 'dev', 'eth0', 'onlink');
    ip('-n', this.ns(ROUTER), 'route', 'replace', `${h.address}/32`, 'dev', `v-${h.name}`);
  }

  /** The host's link goes down: everything to and from it is lost. */
  cut(host: string): void {
    ip('-n', this.ns(host), 'link', 'set', 'eth0', 'down');
  }

  restore(host: string): void {
    ip('-n', this.ns(host), 'link', 'set', 'eth0', 'up');
    this.routes(this.hosts.get(host)!);
  }

  /** Drops everything between `from` and each of `to` (addresses or prefixes), both ways. */
  partition(from: string, to: string[]): void {
    const a = this.address(from);
    for (const b of to) {
      for (const rule of [
        ['from', a, 'to', b],
        ['from', b, 'to', a],
      ]) {
        ip('-n', this.ns(ROUTER), 'rule', 'add', ...rule, 'blackhole');
        this.rules.push(rule);
      }
    }
  }

  /** Removes every partition rule. */
  heal(): void {
    for (const rule of this.rules.splice(0)) {
      try {
        ip('-n', this.ns(ROUTER), 'rule', 'del', ...rule, 'blackhole');
      } catch {
        // already gone
      }
    }
  }

  /** Kills whatever still runs in the namespaces and deletes them. Idempotent, never throws. */
  destroy(): void {
    for (const ns of listNamespaces()) if (ns.startsWith(this.prefix)) killNamespace(ns);
  }
}
