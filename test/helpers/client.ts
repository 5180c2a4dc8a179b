/**
 * Minimal real-socket DNS clients for tests: UDP (one datagram out, first datagram back or
 * null on timeout) and TCP (framed, several queries on one connection).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Answer } from 'dns-packet';

export function udpExchange(port: number, msg: Buffer, opts: { host?: string; timeoutMs?: number } = {}): Promise<Buffer | null> {
  const host = opts.host ?? '127.0.0.1';
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, opts.timeoutMs ?? 1000);
    sock.once('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, port, host);
  });
}

/** Sends every message on one TCP connection (pipelined) and collects `expect` answers. */
export function tcpExchange(port: number, msgs: Buffer[], opts: { host?: string; expect?: number; timeoutMs?: number } = {}): Promise<Buffer[]> {
  const expect = opts.expect ?? msgs.length;
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, opts.host ?? '127.0.0.1');
    const out: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(out);
    }, opts.timeoutMs ?? 2000);
    sock.on('connect', () => sock.write(Buffer.concat(msgs.map(frame))));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length >= expect) {
        clearTimeout(timer);
        sock.destroy();
        resolve(out);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export function frame(msg: Buffer): Buffer {
  const f = Buffer.alloc(msg.length + 2);
  f.writeUInt16BE(msg.length, 0);
  msg.copy(f, 2);
  return f;
}

/**
 * A query built by dns-packet (an independent encoder), with an OPT unless edns is false. `ecs` adds
 * an RFC 7871 client-subnet option, e.g. `81.2.69.0/24` or `2001:db8::/56` (SCOPE 0, as a resolver
 * sends it).
 */
export function query(qname: string, qtype: string, opts: { id?: number; edns?: boolean; udpSize?: number; do?: boolean; rd?: boolean; ecs?: string } = {}): Buffer {
  const options: unknown[] = [];
  if (opts.ecs !== undefined) {
    const [ip, len] = opts.ecs.split('/');
    options.push({ code: 'CLIENT_SUBNET', family: ip!.includes(':') ? 2 : 1, sourcePrefixLength: Number(len), scopePrefixLength: 0, ip });
  }
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 4242,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ type: qtype as 'A', name: qname }],
    additionals: opts.edns === false ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: opts.udpSize ?? 1232, flags: opts.do ? dnsPacket.DNSSEC_OK : 0, options } as unknown as Answer],
  });
}

/**
 * One query per ECS subnet (same name, type and flags). IPv4 subnets of one prefix length reuse
 * one encoded query and rewrite its trailing address bytes (the ECS option is the last thing in
 * it), so a hundred thousand queries cost no more to build than to send.
 */
export function ecsQueries(qname: string, qtype: string, subnets: string[], opts: { rd?: boolean } = {}): Buffer[] {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/;
  const first = subnets[0] ? v4.exec(subnets[0]) : null;
  if (!first || !subnets.every((s) => s.endsWith(`/${first[5]}`) && v4.test(s))) return subnets.map((ecs) => query(qname, qtype, { ...opts, ecs }));
  const prefix = Number(first[5]);
  const bytes = Math.ceil(prefix / 8);
  const template = query(qname, qtype, { ...opts, ecs: subnets[0]! });
  return subnets.map((ecs) => {
    const m = v4.exec(ecs)!;
    const msg = Buffer.from(template);
    // Bits past the source prefix must be zero (RFC 7871 §6).
    for (let i = 0; i < bytes; i++) msg[msg.length - bytes + i] = Number(m[i + 1]) & (0xff << Math.max(0, 8 * (i + 1) - prefix));
    return msg;
  });
}

/** The ECS SCOPE PREFIX-LENGTH of a decoded reply, or null when it carries no client-subnet option. */
export function ecsScope(m: DecodedMsg): number | null {
  const opt = m.additionals.find((a) => a.type === 'OPT') as { options?: { code: number; scopePrefixLength: number }[] } | undefined;
  return opt?.options?.find((o) => o.code === 8)?.scopePrefixLength ?? null;
}

/**
 * Many UDP queries on one socket, pipelined: at most `window` in flight (default 128: more
 * overflows the server's default socket buffer on a loaded machine, and each drop costs a
 * timeout), each reply matched to its
 * query by the DNS ID (written into each message in place: the query's index modulo 2^16, unique
 * within the window),
 * a query resent after `timeoutMs` without a reply, at most `retries` times. Resolves with the raw
 * replies in query order; rejects if any query stays unanswered. This is how the routing matrix
 * sends tens of thousands of queries in seconds instead of one dig process each.
 */
export function udpPipeline(port: number, msgs: Buffer[], opts: { host?: string; window?: number; timeoutMs?: number; retries?: number } = {}): Promise<Buffer[]> {
  const window = Math.min(opts.window ?? 128, 4096);
  const timeoutMs = opts.timeoutMs ?? 500;
  const retries = opts.retries ?? 3;
  const host = opts.host ?? '127.0.0.1';
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const replies: (Buffer | undefined)[] = new Array(msgs.length);
  const inFlight = new Map<number, { index: number; sentAt: number; tries: number }>();
  let next = 0;
  let done = 0;
  return new Promise<Buffer[]>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      sock.close();
      if (err) reject(err);
      else resolve(replies as Buffer[]);
    };
    const send = (index: number, tries: number): void => {
      const msg = msgs[index]!;
      msg.writeUInt16BE(index & 0xffff, 0);
      inFlight.set(index & 0xffff, { index, sentAt: Date.now(), tries });
      sock.send(msg);
    };
    const fill = (): void => {
      while (inFlight.size < window && next < msgs.length) send(next++, 0);
      if (done === msgs.length) finish(null);
    };
    sock.on('message', (m) => {
      if (m.length < 12) return;
      const slot = inFlight.get(m.readUInt16BE(0));
      if (!slot) return; // a late duplicate of a resent query
      inFlight.delete(m.readUInt16BE(0));
      replies[slot.index] = m;
      done++;
      fill();
    });
    sock.on('error', (e) => finish(e));
    const timer = setInterval(
      () => {
        const now = Date.now();
        for (const slot of [...inFlight.values()]) {
          if (now - slot.sentAt < timeoutMs) continue;
          if (slot.tries >= retries) return finish(new Error(`udpPipeline: query ${slot.index} unanswered after ${retries + 1} tries`));
          send(slot.index, slot.tries + 1);
        }
      },
      Math.max(10, timeoutMs / 4),
    );
    // A connected socket: send() then skips the per-datagram address lookup.
    sock.connect(port, host, fill);
  });
}

/** dns-packet's decoded shape, with the fields its published types leave out. */
export interface DecodedRR {
  name: string;
  type: string;
  class: string;
  ttl: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  [k: string]: unknown;
}
export interface DecodedMsg {
  id: number;
  rcode: string;
  flags: number;
  flag_qr: boolean;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  flag_cd: boolean;
  questions: { name: string; type: string; class: string }[];
  answers: DecodedRR[];
  authorities: DecodedRR[];
  additionals: DecodedRR[];
}

export function decode(buf: Buffer): DecodedMsg {
  return dnsPacket.decode(buf) as unknown as DecodedMsg;
}
