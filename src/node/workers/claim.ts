/**
 * The DNS ports of a node with workers, claimed by the primary before any worker binds.
 * @module
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { ListenAddress } from '../../config/load.js';

/**
 * Every listen address with a concrete port, each checked free for both UDP and TCP by binding it
 * without SO_REUSEPORT (then released for the workers). With reusePort a second node on the same
 * port would otherwise join the group and silently take half the queries; this way it fails to
 * start, as a single process does. Port 0 is resolved here, once for all workers. A port the
 * process may not bind (EACCES: below 1024 without CAP_NET_BIND_SERVICE) rejects with the system's
 * error, as a single process's bind does, so `serve` gives the same hint either way.
 */
export async function claimListen(listen: ListenAddress[]): Promise<ListenAddress[] | string> {
  const out: ListenAddress[] = [];
  for (const at of listen) {
    const port = await claimOne(at);
    if (typeof port === 'string') return port;
    out.push({ ...at, port });
  }
  return out;
}

async function claimOne(at: ListenAddress): Promise<number | string> {
  for (let attempt = 0; attempt < (at.port === 0 ? 20 : 1); attempt++) {
    const tcp = await bindTcp(at.host, at.port);
    if (typeof tcp === 'string') return `dns.listen ${show(at)}: ${tcp}`;
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = await bindUdp(at.host, port);
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (typeof udp !== 'string') {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      return port;
    }
    if (at.port !== 0) return `dns.listen ${show(at)}: ${udp}`;
  }
  return `dns.listen ${show(at)}: no port free for both UDP and TCP`;
}

const show = (at: ListenAddress): string => (at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`);

function bindTcp(host: string, port: number): Promise<net.Server | string> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EACCES' ? reject(err) : resolve(`TCP: ${err.code ?? err.message}`)));
    s.listen({ host, port, ipv6Only: net.isIPv6(host), exclusive: true }, () => resolve(s));
  });
}

function bindUdp(host: string, port: number): Promise<dgram.Socket | string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: net.isIPv6(host) });
    s.once('error', (err: NodeJS.ErrnoException) => {
      s.close();
      if (err.code === 'EACCES') reject(err);
      else resolve(`UDP: ${err.code ?? err.message}`);
    });
    s.bind({ port, address: host, exclusive: true }, () => resolve(s));
  });
}
