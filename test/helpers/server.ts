/**
 * Starts a DNS node in-process on 127.0.0.1 (and ::1) with ephemeral ports, from config text and
 * zone files written to a temp dir. Real sockets, real config loading: only the process is shared.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startDnsNode, type DnsNode } from '../../src/serve.js';
import { allowLoopback } from './targets.js';

export const FIXTURE_ZONE = new URL('../fixtures/gslb.example.com.zone', import.meta.url);

export interface TestServer {
  node: DnsNode;
  dir: string;
  port: number;
  tcpPort: number;
  port6: number | null;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra YAML lines appended inside the `dns:` mapping (indented by the caller or not). */
  dns?: Record<string, unknown>;
  zoneText?: string;
  ipv6?: boolean;
  /** Extra top-level config keys (regions, services, geo, metrics). */
  extra?: Record<string, unknown>;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-test-'));
  writeFileSync(join(dir, 'zone'), opts.zoneText ?? readFileSync(FIXTURE_ZONE, 'utf8'));
  const listen = ['127.0.0.1:0', ...(opts.ipv6 ? ['[::1]:0'] : [])];
  const config = {
    dns: { listen, errorRateLimit: 0, ...opts.dns },
    zones: [{ origin: 'gslb.example.com', file: 'zone' }],
    ...opts.extra,
  };
  writeFileSync(join(dir, 'meridian.yaml'), JSON.stringify(allowLoopback(config), null, 2)); // JSON is YAML
  const node = await startDnsNode(join(dir, 'meridian.yaml'), pino({ level: 'silent' }));
  return {
    node,
    dir,
    port: node.udp[0]!.boundPort,
    tcpPort: node.tcp[0]!.boundPort,
    port6: opts.ipv6 ? node.udp[1]!.boundPort : null,
    async stop() {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
