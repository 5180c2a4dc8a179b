/**
 * Prometheus metrics (prom-client). Hot-path code only bumps plain counters (DnsStats); this
 * module reads them at scrape time, so metrics cost nothing per packet. Names follow
 * `meridian_<component>_<name>` (CoreDNS's coredns_<plugin>_<name>), checked by a meta-test.
 * @module
 */
import http from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DnsStats } from '../dns/stats.js';

export interface MetricSources {
  dns: () => DnsStats;
  tcpOpen: () => number;
  geo?: () => { reloadsOk: number; reloadsFailed: number; buildEpoch: number } | null;
}

/** A counter whose value is read from a source at scrape time. */
function mirrored(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function createMetrics(src: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'meridian_process_' });
  const s = src.dns;
  new Counter({
    name: 'meridian_dns_queries_total',
    help: 'DNS messages received, by transport.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ transport: 'udp' }, s().udp);
      this.inc({ transport: 'tcp' }, s().tcp);
    },
  });
  new Counter({
    name: 'meridian_dns_responses_total',
    help: 'DNS responses sent, by rcode.',
    labelNames: ['rcode'],
    registers: [registry],
    collect() {
      this.reset();
      const st = s();
      for (const [rcode, n] of Object.entries({ NOERROR: st.noerror, FORMERR: st.formerr, SERVFAIL: st.servfail, NXDOMAIN: st.nxdomain, NOTIMP: st.notimp, REFUSED: st.refused, NOTAUTH: st.notauth, BADVERS: st.badvers })) {
        this.inc({ rcode }, n);
      }
    },
  });
  mirrored(registry, 'meridian_dns_dropped_total', 'Messages dropped without an answer (short, QR=1).', () => s().dropped);
  mirrored(registry, 'meridian_dns_truncated_total', 'UDP answers sent with TC=1.', () => s().truncated);
  mirrored(registry, 'meridian_dns_errors_rate_limited_total', 'FORMERR/NOTIMP answers suppressed by the error-response rate limit.', () => s().errorsRateLimited);
  mirrored(registry, 'meridian_dns_internal_errors_total', 'Internal faults answered with SERVFAIL.', () => s().internalErrors);
  mirrored(registry, 'meridian_dns_tcp_connections_total', 'TCP connections accepted.', () => s().tcpConnections);
  mirrored(registry, 'meridian_dns_tcp_evicted_total', 'TCP connections closed to make room at the connection cap.', () => s().tcpEvicted);
  mirrored(registry, 'meridian_dns_tcp_timeouts_total', 'TCP connections closed by the idle or read timeout.', () => s().tcpTimeouts);
  mirrored(registry, 'meridian_dns_dynamic_answers_total', 'A/AAAA answers decided per client by a service policy chain.', () => s().dynamic);
  mirrored(registry, 'meridian_policy_all_down_answers_total', 'Service answers given while every candidate region was down (all-down policy).', () => s().allDown);
  new Gauge({
    name: 'meridian_dns_tcp_open_connections',
    help: 'TCP connections open now.',
    registers: [registry],
    collect() {
      this.set(src.tcpOpen());
    },
  });
  if (src.geo) {
    const geo = src.geo;
    new Counter({
      name: 'meridian_geo_reloads_total',
      help: 'Geo database reload attempts, by result.',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        this.reset();
        const g = geo();
        this.inc({ result: 'ok' }, g?.reloadsOk ?? 0);
        this.inc({ result: 'rejected' }, g?.reloadsFailed ?? 0);
      },
    });
    new Gauge({
      name: 'meridian_geo_database_build_epoch_seconds',
      help: 'Build time of the geo database in use (from its metadata).',
      registers: [registry],
      collect() {
        this.set(geo()?.buildEpoch ?? 0);
      },
    });
  }
  return registry;
}

/** Serves GET /metrics; anything else is 404. */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
