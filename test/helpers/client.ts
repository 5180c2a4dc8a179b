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

/** A query built by dns-packet (an independent encoder), with an OPT unless edns is false. */
export function query(qname: string, qtype: string, opts: { id?: number; edns?: boolean; udpSize?: number; do?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: qtype as 'A', name: qname }],
    additionals:
      opts.edns === false
        ? []
        : [{ type: 'OPT', name: '.', udpPayloadSize: opts.udpSize ?? 1232, flags: opts.do ? dnsPacket.DNSSEC_OK : 0 } as unknown as Answer],
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
