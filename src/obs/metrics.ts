/**
 * Prometheus metrics (prom-client). Hot-path code only bumps plain counters (DnsStats); this
 * module reads them at scrape time, so metrics cost nothing per packet. Names follow
 * `meridian_<component>_<name>` (CoreDNS's coredns_<plugin>_<name>), checked by a meta-test.
 * @module
 */
import http from 'node:http';
import { hostname } from 'node:os';
import { guardHttpServer } from './http-guard.js';
import { answerHealthProbe, type Readiness } from './health-endpoints.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue, type MetricValueWithName } from 'prom-client';
import { LATENCY_BUCKETS, LATENCY_SAMPLE_BITS, QTYPE_LABELS, type DnsStats } from '../dns/stats.js';
import type { HealthPlane } from '../health/plane.js';
import { splitKey } from '../probe/types.js';
import { VERSION } from '../version.js';

export interface MetricSources {
  /** Absent in processes that answer no DNS (the probe sidecar). */
  dns?: () => DnsStats;
  tcpOpen?: () => number;
  geo?: () => { reloadsOk: number; reloadsFailed: number; buildEpoch: number } | null;
  health?: () => HealthPlane;
  /** Refused region `forwarder:` blocks per region (src/node/sources.ts), in roles that follow a config store. */
  forwarderBlocksRejected?: () => ReadonlyMap<string, number>;
}

/** prom-client default metrics that break Prometheus' naming rules, left out (createMetrics). */
const LINT_FAILING_DEFAULTS = ['meridian_nodejs_active_handles_total', 'meridian_nodejs_active_requests_total', 'meridian_nodejs_active_resources_total'];

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

/**
 * `processMetrics: false` leaves out prom-client's process and runtime metrics: a DNS worker's
 * registry (src/node/workers/), whose page is summed into its primary's, which has its own.
 */
export function createMetrics(src: MetricSources, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (opts.processMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'meridian_' });
    // prom-client names three gauges `_total`, which Prometheus keeps for counters (`promtool check
    // metrics` refuses them); each is the sum of its by-type gauge kept beside it
    // (`meridian_nodejs_active_handles{type}`: sum() gives the total).
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
    // Prometheus' info idiom: always 1; the labels say which build runs where (a dashboard's version column).
    new Gauge({ name: 'meridian_build_info', help: 'Always 1: the Meridian version this process runs and the host it runs on.', labelNames: ['version', 'node'], registers: [registry] }).set(
      { version: VERSION, node: hostname() },
      1,
    );
  }
  if (src.dns) dnsMetrics(registry, src.dns, src.tcpOpen ?? (() => 0));
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
        this.inc({ result: 'failed' }, g?.reloadsFailed ?? 0);
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
  if (src.health) healthMetrics(registry, src.health);
  if (src.forwarderBlocksRejected) {
    const read = src.forwarderBlocksRejected;
    new Counter({
      name: 'meridian_config_forwarder_rejected_total',
      help: "Region forwarder: blocks of config versions refused by the forwarder's rules (the region kept its last good block), by region.",
      labelNames: ['region'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [region, n] of read()) this.inc({ region }, n);
      },
    });
  }
  return registry;
}

/** What a role's config sources (src/node/sources.ts) tell about the config in force. */
export interface ConfigStatus {
  /** The config-store version applied; 0 without a store (the YAML is the whole config) or before one was reached. */
  readonly appliedVersion: number;
  /** Reloads and store versions refused since start (the running config stayed), by trigger. */
  readonly refused: Readonly<Record<'sighup' | 'version', number>>;
  /** Config documents compiled since start, and compiles answered by the last one (src/node/compile-shared.ts). */
  readonly compiles: Readonly<{ compiled: number; reused: number }>;
  /** Zones, regions and services schema-checked since start, and those answered by an earlier compile (src/node/document-items.ts). */
  readonly items: Readonly<Record<string, Readonly<{ checked: number; reused: number }>>>;
  /** Regions compiled by the routing compiler since start, and those answered by an earlier compile (src/routing/compile-region.ts). */
  readonly regionCompiles: Readonly<{ compiled: number; reused: number }>;
}

/** The config version a role runs and the reloads it refused (every role, once its config sources exist). */
export function configMetrics(registry: Registry, status: ConfigStatus): void {
  new Gauge({
    name: 'meridian_config_version',
    help: 'The config-store version this process applied (0: no store, the YAML is the whole config).',
    registers: [registry],
    collect() {
      this.set(status.appliedVersion);
    },
  });
  new Counter({
    name: 'meridian_config_reload_failures_total',
    help: 'Config reloads refused (the running config stayed), by trigger: sighup (the YAML and zone files) or version (a config-store version).',
    labelNames: ['trigger'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [trigger, n] of Object.entries(status.refused)) this.inc({ trigger }, n);
    },
  });
  new Counter({
    name: 'meridian_config_compiles_total',
    help: 'Config documents compiled (validated and built: O(config) on the event loop), by result: compiled, or reused (the document the admin API had just validated, applied as the new version).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'compiled' }, status.compiles.compiled);
      this.inc({ result: 'reused' }, status.compiles.reused);
    },
  });
  new Counter({
    name: 'meridian_config_items_checked_total',
    help: 'Zones, regions and services of config documents given their schema defaults and checks, by kind and result: checked, or reused (the same item, by its JSON text, as in the previous compile). A write checks what it changed, not the whole config.',
    labelNames: ['kind', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(status.items)) {
        this.inc({ kind, result: 'checked' }, n.checked);
        this.inc({ kind, result: 'reused' }, n.reused);
      }
    },
  });
  new Counter({
    name: 'meridian_config_regions_compiled_total',
    help: 'Regions compiled by the routing compiler (their endpoints, probe checks and addresses checked), by result: compiled, or reused (the same region, by its JSON text, without problems in the previous compile).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'compiled' }, status.regionCompiles.compiled);
      this.inc({ result: 'reused' }, status.regionCompiles.reused);
    },
  });
}

function dnsMetrics(registry: Registry, s: () => DnsStats, tcpOpen: () => number): void {
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
      for (const [rcode, n] of Object.entries({
        NOERROR: st.noerror,
        FORMERR: st.formerr,
        SERVFAIL: st.servfail,
        NXDOMAIN: st.nxdomain,
        NOTIMP: st.notimp,
        REFUSED: st.refused,
        NOTAUTH: st.notauth,
        BADVERS: st.badvers,
      })) {
        this.inc({ rcode }, n);
      }
    },
  });
  answerMetrics(registry, s);
  mirrored(registry, 'meridian_dns_dropped_total', 'Messages dropped without an answer (short, QR=1).', () => s().dropped);
  mirrored(registry, 'meridian_dns_truncated_total', 'UDP answers sent with TC=1.', () => s().truncated);
  new Counter({
    name: 'meridian_dns_errors_rate_limited_total',
    help: 'FORMERR/NOTIMP responses decided but not sent (the UDP error-response rate limit), by rcode.',
    labelNames: ['rcode'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ rcode: 'FORMERR' }, s().formerrRateLimited);
      this.inc({ rcode: 'NOTIMP' }, s().notimpRateLimited);
    },
  });
  new Counter({
    name: 'meridian_dns_rrl_responses_total',
    help: 'UDP responses limited by response rate limiting (dns.rrl), by action: dropped, slipped (sent as TC=1), leaked (an error sent at the slip rate), logged (log-only: would have been limited, answered).',
    labelNames: ['action'],
    registers: [registry],
    collect() {
      this.reset();
      const st = s();
      this.inc({ action: 'dropped' }, st.rrlDropped);
      this.inc({ action: 'slipped' }, st.rrlSlipped);
      this.inc({ action: 'leaked' }, st.rrlLeaked);
      this.inc({ action: 'logged' }, st.rrlLogged);
    },
  });
  mirrored(registry, 'meridian_dns_rrl_table_evictions_total', 'RRL accounts evicted because the table (dns.rrl.tableSize) was full.', () => s().rrlEvictions);
  new Gauge({
    name: 'meridian_dns_rrl_accounts',
    help: 'RRL accounts held now (at most dns.rrl.tableSize).',
    registers: [registry],
    collect() {
      this.set(s().rrlAccounts);
    },
  });
  mirrored(registry, 'meridian_dns_error_cap_table_clears_total', 'Times the per-netblock FORMERR/NOTIMP cap table was full and emptied.', () => s().errorCapClears);
  mirrored(registry, 'meridian_dns_internal_errors_total', 'Internal faults answered with SERVFAIL.', () => s().internalErrors);
  mirrored(registry, 'meridian_dns_tcp_connections_total', 'TCP connections accepted.', () => s().tcpConnections);
  mirrored(registry, 'meridian_dns_tcp_evicted_total', 'TCP connections closed to make room at the connection cap.', () => s().tcpEvicted);
  mirrored(registry, 'meridian_dns_tcp_timeouts_total', 'TCP connections closed by the idle or read timeout.', () => s().tcpTimeouts);
  mirrored(registry, 'meridian_dns_dynamic_answers_total', 'A/AAAA answers decided per client by a service policy chain.', () => s().dynamic);
  mirrored(registry, 'meridian_dns_decision_flushes_total', 'Service decision caches emptied by health changes (only services using a changed region).', () => s().decisionFlushes);
  mirrored(
    registry,
    'meridian_dns_decisions_computed_total',
    'Service decisions computed by running the policy chain: misses of the per-/24 decision cache that no cached decision of the client geo network answered.',
    () => s().decisions,
  );
  mirrored(registry, 'meridian_dns_geo_lookups_total', 'Geo database lookups made for service decisions (one per per-/24 decision-cache miss of a service that needs geo).', () => s().geoLookups);
  mirrored(registry, 'meridian_policy_all_down_answers_total', 'Service answers given while every candidate region was down (all-down policy).', () => s().allDown);
  new Gauge({
    name: 'meridian_dns_tcp_open_connections',
    help: 'TCP connections open now.',
    registers: [registry],
    collect() {
      this.set(tcpOpen());
    },
  });
}

/** What was asked and what was answered: by QTYPE, ECS, decision cache, service and region, and how long answers took. */
function answerMetrics(registry: Registry, s: () => DnsStats): void {
  new Counter({
    name: 'meridian_dns_requests_total',
    help: `Queries decoded, by QTYPE (${QTYPE_LABELS.map(([name]) => name).join(', ')}; any other type is "other").`,
    labelNames: ['qtype'],
    registers: [registry],
    collect() {
      this.reset();
      const by = s().byQtype;
      QTYPE_LABELS.forEach(([qtype], i) => this.inc({ qtype }, by[i]!));
      this.inc({ qtype: 'other' }, by[QTYPE_LABELS.length]!);
    },
  });
  new Counter({
    name: 'meridian_dns_ecs_queries_total',
    help: 'Queries decoded, by whether they carry an EDNS Client Subnet option (present) or not (absent).',
    labelNames: ['ecs'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ ecs: 'present' }, s().ecsPresent);
      this.inc({ ecs: 'absent' }, s().ecsAbsent);
    },
  });
  new Counter({
    name: 'meridian_dns_decision_cache_total',
    help: "Service decisions asked of the decision caches, by result: hit (the client's /16 or /24, IPv6 /56), network_hit (a miss answered by the decision of the client's geo network), miss (the policy chain ran).",
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const st = s();
      this.inc({ result: 'hit' }, st.decisionHits);
      this.inc({ result: 'network_hit' }, st.decisionNetworkHits);
      this.inc({ result: 'miss' }, st.decisionMisses);
    },
  });
  new Counter({
    name: 'meridian_dns_service_answers_total',
    help: 'Service answers with addresses, by service and by region the addresses came from (an answer of two regions counts for both).',
    labelNames: ['service', 'region'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [service, byRegion] of s().answers) for (const [region, cell] of byRegion) this.inc({ service: service.replace(/\.$/, ''), region }, cell.n);
    },
  });
  new CountsHistogram({
    name: 'meridian_dns_answer_duration_seconds',
    help: `Time to decide and build an answer, from the message to the bytes to send (one query in ${2 ** LATENCY_SAMPLE_BITS} timed; socket and event-loop waits not included).`,
    buckets: [...LATENCY_BUCKETS],
    registers: [registry],
    read: () => ({ buckets: s().latencyBuckets, sum: s().latencySum }),
  });
}

/**
 * A histogram whose bucket counts are kept by the hot path in a plain array (DnsStats) and read
 * at scrape time, as the counters are: observing into prom-client per answer would hash labels
 * and search buckets on the DNS event loop.
 */
class CountsHistogram extends Histogram {
  private readonly read: () => { buckets: Float64Array; sum: number };
  private readonly bounds: readonly number[];
  private readonly described: { name: string; help: string };

  constructor(opts: { name: string; help: string; buckets: number[]; registers: Registry[]; read: () => { buckets: Float64Array; sum: number } }) {
    const { read, ...rest } = opts;
    super(rest);
    this.read = read;
    this.bounds = opts.buckets;
    this.described = { name: opts.name, help: opts.help };
  }

  /** The series in prom-client's histogram shape (cumulative buckets, +Inf, sum, count), which AggregatorRegistry sums. */
  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const { buckets, sum } = this.read();
    const { name, help } = this.described;
    const values: MetricValueWithName<string>[] = [];
    let acc = 0;
    this.bounds.forEach((le, i) => {
      acc += buckets[i]!;
      values.push({ labels: { le }, value: acc, metricName: `${name}_bucket` });
    });
    acc += buckets[this.bounds.length]!;
    values.push({ labels: { le: '+Inf' }, value: acc, metricName: `${name}_bucket` }, { labels: {}, value: sum, metricName: `${name}_sum` }, { labels: {}, value: acc, metricName: `${name}_count` });
    return { name, help, type: 'histogram', aggregator: 'sum', values } as unknown as MetricObjectWithValues<MetricValueWithName<string>>;
  }

  /** What Registry#metrics formats (prom-client prefers it to get() for histograms). */
  getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.get();
  }
}

const REGION_STATES = ['up', 'down', 'drained'] as const;

type GaugeValue = { labels: Record<string, string>; value: number };

/**
 * A gauge whose series are read whole from a source at scrape time, never stored: a `Gauge` keeps
 * one entry per label set and hashes the labels on every `set`, which for 10,000 endpoints made
 * each scrape rebuild 10,000 entries on the DNS event loop (issue 17, bench:scale profile: a third
 * of the page's cost). The page renders the same lines either way.
 */
class SnapshotGauge extends Gauge {
  private readonly read: () => GaugeValue[];

  constructor(opts: { name: string; help: string; labelNames: string[]; registers: Registry[]; read: () => GaugeValue[] }) {
    const { read, ...rest } = opts;
    super(rest);
    this.read = read;
  }

  /** The gauge's own description (it holds no series, so that is cheap) with the source's series. */
  override async get(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    return { ...(await super.get()), values: this.read() };
  }
}

function healthMetrics(registry: Registry, plane: () => HealthPlane): void {
  const work = () => plane().source.metrics;
  mirrored(registry, 'meridian_health_endpoint_evaluations_total', 'Endpoint verdicts evaluated: one per flip, every endpoint per full recompute.', () => work().endpointEvaluations);
  mirrored(registry, 'meridian_health_region_evaluations_total', 'Region verdicts evaluated: one per flip that changes a verdict, every region per full recompute.', () => work().regionEvaluations);
  mirrored(registry, 'meridian_health_full_recomputes_total', 'Recomputes of every endpoint (reads from the bus, overrides, config).', () => work().fullRecomputes);
  new Gauge({
    name: 'meridian_health_snapshot_age_seconds',
    help: 'Seconds since the health snapshot was last confirmed from the bus (grows while Redis is away).',
    registers: [registry],
    collect() {
      this.set(plane().source.snapshotAgeSeconds());
    },
  });
  new Gauge({
    name: 'meridian_health_live_vantages',
    help: 'Probe vantage points whose heartbeat has not expired.',
    registers: [registry],
    collect() {
      this.set(plane().source.current.liveVantages);
    },
  });
  new Gauge({
    name: 'meridian_health_redis_connected',
    help: '1 when the health bus is connected (always 1 in embedded mode).',
    registers: [registry],
    collect() {
      this.set(plane().bus.connected ? 1 : 0);
    },
  });
  new SnapshotGauge({
    name: 'meridian_health_endpoint_up',
    help: 'Aggregated verdict per endpoint (quorum of live vantages, overrides applied): 1 up, 0 down.',
    labelNames: ['region', 'endpoint'],
    registers: [registry],
    read: () => [...plane().source.current.endpoints()].map(([key, v]) => ({ labels: splitKey(key), value: v.status === 'up' ? 1 : 0 })),
  });
  new Gauge({
    name: 'meridian_health_region_state',
    help: 'Region state: 1 for the state the region is in, 0 for the others.',
    labelNames: ['region', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [region, v] of plane().source.current.regions()) for (const state of REGION_STATES) this.set({ region, state }, v.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'meridian_health_region_utilisation',
    help: 'Active forwarder connections / capacity per region, from the live load reports (absent: no report).',
    labelNames: ['region'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [region, l] of plane().source.regionLoads()) this.set({ region }, l.utilisation);
    },
  });
  new Gauge({
    name: 'meridian_health_region_weight_factor',
    help: 'Factor applied to the region weight by load feedback (1 = not lowered), as in the snapshot in force.',
    labelNames: ['region'],
    registers: [registry],
    collect() {
      this.reset();
      const h = plane().source.current;
      for (const [region] of h.regions()) this.set({ region }, h.regionLoad(region)?.factor ?? 1);
    },
  });
  new Gauge({
    name: 'meridian_health_vantage_endpoints_up',
    help: 'Endpoints each live vantage sees up (its own view, before quorum).',
    labelNames: ['vantage'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [vantage, up] of plane().source.vantageSummary()) this.set({ vantage }, up);
    },
  });
}

/** Probe-side metrics, fed by the scheduler hooks (per check, never per DNS query). */
export function createProbeMetrics(): {
  onCheck: (key: string, ok: boolean, rttMs: number) => void;
  onFlip: (key: string) => void;
  onDenied: (key: string) => void;
  register: (registry: Registry) => void;
  publishes: (registry: Registry, read: () => Readonly<{ failures: number; lastAt: number }>) => void;
} {
  const duration = new Histogram({
    name: 'meridian_probe_check_duration_seconds',
    help: 'Time of each health check, by endpoint and result.',
    labelNames: ['region', 'endpoint', 'result'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });
  const denied = new Counter({
    name: 'meridian_probe_denied_total',
    help: 'Checks refused by health.targets at connect time (they never connect), per endpoint.',
    labelNames: ['region', 'endpoint'],
    registers: [],
  });
  const flips = new Counter({ name: 'meridian_probe_flips_total', help: 'Up/down changes seen by this vantage, per endpoint.', labelNames: ['region', 'endpoint'], registers: [] });
  return {
    onCheck(key, ok, rttMs) {
      duration.observe({ ...splitKey(key), result: ok ? 'ok' : 'fail' }, rttMs / 1000);
    },
    onFlip(key) {
      flips.inc(splitKey(key));
    },
    onDenied(key) {
      denied.inc(splitKey(key));
    },
    register(registry) {
      registry.registerMetric(duration);
      registry.registerMetric(flips);
      registry.registerMetric(denied);
    },
    publishes(registry, read) {
      mirrored(
        registry,
        'meridian_probe_publish_failures_total',
        'Heartbeats and views this vantage could not publish to the health bus (DNS nodes expire a view the heartbeat TTL after its last publish).',
        () => read().failures,
      );
      new Gauge({
        name: 'meridian_probe_last_publish_timestamp_seconds',
        help: 'When this vantage last published its heartbeat or view to the health bus (Unix seconds; 0: never).',
        registers: [registry],
        collect() {
          this.set(read().lastAt / 1000);
        },
      });
    },
  };
}

/**
 * Open connections the /metrics listener keeps (at the cap a new one displaces the longest-idle
 * one): a few scrapers need a few, and the bound is part of the descriptors src/node/fds.ts
 * reserves for it.
 */
export const METRICS_MAX_CONNECTIONS = 16;

/** What /metrics serves: a registry, or a page put together from several (a node with DNS workers). */
export interface MetricsPage {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** Serves GET /metrics, /healthz and /readyz (src/obs/health-endpoints.ts); anything else is 404. */
export function serveMetrics(registry: MetricsPage, host: string, port: number, readiness: Readiness): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (answerHealthProbe(req, res, readiness)) return;
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  // A scraper needs one connection and asks every few seconds: half the slots per address, idle
  // ones giving way to new ones, and 10 s of silence keep one client from holding the page
  // (src/obs/http-guard.ts).
  guardHttpServer(server, { maxConnections: METRICS_MAX_CONNECTIONS, perSource: METRICS_MAX_CONNECTIONS / 2, idleMs: 10_000 });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** What the admin API's dashboard streams did (src/admin/ui/streams.ts; the shape, so obs imports nothing of admin). */
export interface UiStreamCounts {
  readonly open: number;
  readonly refused: Readonly<Record<'token' | 'address' | 'total', number>>;
  readonly framesSkipped: number;
  readonly ended: Readonly<Record<'slow' | 'lifetime', number>>;
  readonly maxBuffered: number;
}

/** The dashboard's event streams (`/ui/events`): open, refused by bound, frames skipped for a client not reading, ended by the server. */
export function uiStreamMetrics(registry: Registry, s: UiStreamCounts): void {
  const gauge = (name: string, help: string, read: () => number): void =>
    void new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('meridian_admin_ui_streams_open', 'Dashboard event streams open.', () => s.open);
  gauge('meridian_admin_ui_stream_buffered_max_bytes', 'The largest output buffered for one open dashboard stream at the last tick (bytes): at most about one frame.', () => s.maxBuffered);
  mirrored(
    registry,
    'meridian_admin_ui_stream_frames_skipped_total',
    'Dashboard states not written to a stream whose previous write had not drained (its client is slow or stopped reading).',
    () => s.framesSkipped,
  );
  const labelled = (name: string, help: string, label: string, read: () => Readonly<Record<string, number>>): void =>
    void new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [k, n] of Object.entries(read())) this.inc({ [label]: k }, n);
      },
    });
  labelled('meridian_admin_ui_streams_refused_total', 'Dashboard event streams refused with 429, by the bound reached (token, address, total).', 'limit', () => s.refused);
  labelled('meridian_admin_ui_streams_ended_total', 'Dashboard event streams ended by the server: slow (output not drained for 5 s) or lifetime (10 min).', 'reason', () => s.ended);
}
