/**
 * Test helpers for the probe: target builders and local servers on 127.0.0.1 (never an external
 * address), including a listener that never completes handshakes and a self-signed certificate
 * made with the openssl CLI.
 * @module
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_EXPECT, type CheckTiming, type HttpCheckSpec, type ProbeTarget } from './types.js';

export const FAST: CheckTiming = { intervalMs: 1000, timeoutMs: 300, rise: 2, fall: 3 };

export function tcpTarget(port: number, timing: Partial<CheckTiming> = {}, key = 'r1/tcp'): ProbeTarget {
  return { key, address: '127.0.0.1', port, check: { type: 'tcp' }, timing: { ...FAST, ...timing } };
}

export function httpTarget(port: number, spec: Partial<HttpCheckSpec> = {}, timing: Partial<CheckTiming> = {}, key = 'r1/web'): ProbeTarget {
  const check: HttpCheckSpec = { type: 'http', path: '/health', expect: [...DEFAULT_EXPECT], body: null, host: null, sni: null, insecure: false, ca: null, ...spec };
  return { key, address: '127.0.0.1', port, check, timing: { ...FAST, ...timing } };
}

export interface Local<S extends net.Server = net.Server> {
  server: S;
  port: number;
  /** Sockets the server accepted and that have since closed. */
  closed: () => number;
  accepted: () => number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 and tracks sockets, so tests can see the probe close its connection. */
export async function listen<S extends net.Server>(server: S): Promise<Local<S>> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let closed = 0;
  server.on('connection', (s: net.Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => {
      closed++;
      sockets.delete(s);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    closed: () => closed,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port with nothing listening: bind, read the port, close. */
export async function freePort(): Promise<number> {
  const l = await listen(net.createServer());
  await l.close();
  return l.port;
}

/**
 * A listener whose handshakes never complete: a child process listens with backlog 1 and blocks
 * its event loop so it never accepts; once the kernel's accept queue is full, further SYNs are
 * dropped and connect() hangs, as it does against a black-holed address (without leaving 127.0.0.1).
 */
export async function blackHole(): Promise<{ port: number; close(): void }> {
  const src = `const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(s.address().port+'\\n');Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0);});`;
  const child = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', () => reject(new Error('black hole child exited')));
  });
  const fillers: net.Socket[] = [];
  // Fill the accept queue until a connect stalls (2 with backlog 1 on Linux; bounded in case).
  for (let i = 0; i < 16; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fillers.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 150);
      s.once('connect', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!connected) break;
  }
  return {
    port,
    close() {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}

/** A self-signed certificate for `name` (SAN DNS:name), made with the openssl CLI in a temp dir. */
export function selfSigned(name: string): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-probe-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-days', '1'], {
      stdio: 'ignore',
    });
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Seen {
  path: string;
  host: string | undefined;
  userAgent: string | undefined;
  servername: string | false | undefined;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** An HTTP (or, given a cert, HTTPS) server recording what each request carried. */
export async function webServer(handler: Handler, tls?: https.ServerOptions): Promise<Local<http.Server> & { seen: Seen[] }> {
  const seen: Seen[] = [];
  const wrapped: Handler = (req, res) => {
    const sock = req.socket as net.Socket & { servername?: string | false };
    seen.push({ path: req.url ?? '', host: req.headers.host, userAgent: req.headers['user-agent'], servername: sock.servername });
    handler(req, res);
  };
  const server = tls ? https.createServer(tls, wrapped) : http.createServer(wrapped);
  const l = await listen<http.Server>(server);
  return Object.assign(l, { seen });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
