/**
 * A listener the process may not bind (EACCES): below `net.ipv4.ip_unprivileged_port_start`
 * (1024 by default) Linux wants CAP_NET_BIND_SERVICE. One coded line that says how to grant it or
 * avoid it, instead of a stack trace (`serve` on port 53, `forward` on 80/443).
 * @module
 */
import { readFileSync } from 'node:fs';

/** The first port an unprivileged process may bind (Linux; 1024 elsewhere or when unreadable). */
function unprivilegedPortStart(): number {
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    return Number.isInteger(n) ? n : 1024;
  } catch {
    return 1024;
  }
}

/** The message for a bind refused with EACCES, or null for any other error. */
export function bindDenied(err: unknown, listenKey: string): string | null {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  // A UDP socket fails in bind(2), a TCP server in listen(2) (Node binds inside listen).
  if (e?.code !== 'EACCES' || (e.syscall !== 'bind' && e.syscall !== 'listen')) return null;
  const at = e.address !== undefined && e.port !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}` : 'a listen address';
  const start = unprivilegedPortStart();
  if (e.port === undefined || e.port >= start) return `MERIDIAN_ERR_BIND_DENIED: cannot bind ${at}: permission denied (EACCES)`;
  return (
    `MERIDIAN_ERR_BIND_DENIED: cannot bind ${at}: permission denied (EACCES). Ports below ${start} need CAP_NET_BIND_SERVICE: ` +
    `run under systemd with AmbientCapabilities=CAP_NET_BIND_SERVICE (deploy/systemd/meridian.service), ` +
    `or grant it to the binary (sudo setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v node)")"), ` +
    `or listen on a port above 1023 (${listenKey}, e.g. 127.0.0.1:1053)`
  );
}
