/**
 * The DNS node (`meridian serve`), a role in the shape of src/lifecycle/: startDnsNode builds it
 * from the YAML, opening every resource through one stack (a failed start closes what was opened,
 * so the process exits), and the first config, each config-store version and SIGHUP all reach it
 * through the same apply(). A bad file or version leaves the running data answering and is logged
 * as `file:line: reason`.
 * @module
 */
import type { AddressInfo } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import type { Registry } from 'prom-client';
import type { AdminServer } from './admin/server.js';
import { healthReport } from './admin/health-report.js';
import type { ConfigDocument } from './config/document.js';
import { ConfigError, parseListen, type LoadedConfig } from './config/load.js';
import type { Responder } from './dns/respond.js';
import type { TcpListener } from './dns/tcp.js';
import type { Forwarder } from './forward/forwarder.js';
import { isLive } from './health/load.js';
import { openHealthPlane, type HealthPlane } from './health/plane.js';
import type { Override } from './health/types.js';
import type { Role } from './lifecycle/role.js';
import { build, type ResourceStack } from './lifecycle/stack.js';
import { ConfigSources, countRejected } from './node/sources.js';
import { zoneSet } from './node/services.js';
import { DryRunPool } from './node/dryrun-pool.js';
import { CopyRefresher, overridesOf } from './node/copy.js';
import { followStore, openLocalCopy, storeOpener, type StoreOpener } from './node/store.js';
import { configMetrics, createMetrics, createProbeMetrics, uiStreamMetrics } from './obs/metrics.js';
import { listenMetrics } from './node/metrics.js';
import { allOf, type Readiness } from './obs/health-endpoints.js';
import { configReadiness, dataReadiness, healthReadiness } from './node/readiness.js';
import type { Logger } from './obs/log.js';
import type { ConfigFollower } from './store/follow.js';
import type { LocalCopyFile } from './store/local-copy.js';
import { compileShared } from './node/compile-shared.js';
import { refuseDenied } from './config/targets-document.js';
import { forwarderScope, refuseBadForwarders } from './node/forwarder-blocks.js';
import { budgetProblems, openBudget } from './node/fds.js';
import type { ConnectionBudget } from './forward/budget.js';
import { openDnsCore, openDnsListeners, planeFeed, type DnsCore } from './node/dns-core.js';
import { RecordedInputs } from './node/workers/inputs.js';
import { openWorkers, type DnsWorkers } from './node/workers/primary.js';
import { workerCount } from './node/workers/plan.js';

export { ConfigError };

/** An address the node answers DNS on (in this process, or in its worker processes). */
export interface DnsAddress {
  readonly host: string;
  readonly boundPort: number;
}

export interface DnsNode extends Role<LoadedConfig> {
  /** This process's responder (with DNS workers, the one the admin API explains with; the workers answer). */
  responder: Responder;
  udp: readonly DnsAddress[];
  tcp: readonly DnsAddress[];
  /** This process's registry (with DNS workers, /metrics adds their summed DNS metrics). */
  metrics: Registry;
  health: HealthPlane;
  /** The DNS worker processes (`--workers N`, N > 1); null when this process answers. */
  workers: DnsWorkers | null;
  /** The config store this node follows; null when the YAML is the whole config (no `admin:`). */
  follower: ConfigFollower | null;
  /** The admin API, when `admin.listen` is set. */
  admin: AdminServer | null;
  /** The forwarders of the regions in `forward.embedded`, running in this process. */
  forwarders: Forwarder[];
  /** Port of the /metrics endpoint, when `metrics.listen` is set. */
  readonly metricsPort: number | null;
  /** SIGHUP: re-reads the config file; returns the problems found (empty when the new data is live). */
  reload(): string[];
  /** What /readyz answers (src/node/readiness.ts), also without a metrics listener. */
  readiness: Readiness;
}

/** The DNS core of the process that runs the health plane (with or without DNS workers). */
type NodeCore = DnsCore & { plane: HealthPlane; probeMetrics: ReturnType<typeof createProbeMetrics> };

/**
 * `workers`: `--workers` or MERIDIAN_WORKERS as given, or null for `dns.workers` (auto: the number
 * of cores). Above 1, this process keeps the control plane (store, health, probes, forwarders,
 * admin API, metrics) and the DNS answers come from that many worker processes
 * (src/node/workers/README.md). In-process callers (tests) get one process.
 */
export async function startDnsNode(configPath: string, log: Logger, workers: string | null = '1'): Promise<DnsNode> {
  const inputs = new RecordedInputs();
  const yaml = inputs.loadOrThrow(configPath);
  const count = workerCount(workers ?? undefined, yaml.dns.workers);
  if (typeof count === 'string') throw new ConfigError([`${yaml.file}: --workers / MERIDIAN_WORKERS / dns.workers: ${count}`]);
  return build(async (stack) => {
    const opener = yaml.admin ? storeOpener(yaml, log) : null;
    const copy = opener ? openLocalCopy(opener, 'local-copy.json', log) : null;
    const budget = fdBudget(yaml, log);
    const core = openNodeCore(yaml, log, stack, overridesOf(copy?.latest ?? null), budget);
    const sources = new ConfigSources(yaml, core, log, undefined, (file) => inputs.load(file));
    const follower = opener ? await followNodeStore(opener, copy, core, sources, log, stack) : null;
    if (!follower) {
      const problems = sources.applyYaml();
      if (problems.length) throw new ConfigError(problems);
    }
    const dns = count > 1 ? await openWorkers({ count, yaml, plane: core.plane, sources, inputs, log, stack }) : null;
    const { udp, tcp } = dns ? { udp: dns.addresses, tcp: dns.addresses } : await openDnsListeners(core, yaml, stack, log);
    const metrics = nodeMetrics(core, dns ? null : (tcp as TcpListener[]), sources);
    dns?.register(metrics);
    await openForwarders(core, metrics, log, stack, (region) => countRejected(sources.rejectedBlocks, region));
    const ready = nodeReadiness(core, follower, sources, dns, count);
    const metricsServer = yaml.metricsListen ? await listenMetrics(stack, dns ? dns.page(metrics) : metrics, yaml.metricsListen, ready) : null;
    const recentClients = dns ? () => dns.recentClients(yaml.admin?.sampleSize ?? 0) : () => core.sampler.recent();
    const admin = follower && yaml.admin?.listen ? await openAdmin(core, follower, sources, copy, log, stack, recentClients) : null;
    if (admin) uiStreamMetrics(metrics, admin.runtime.uiStreams);
    // Each version reaches the workers after the primary applied it (the health it changed went first).
    if (dns) follower?.onApplied(() => dns.configChanged(false));
    return {
      get config() {
        return core.config;
      },
      responder: core.responder,
      udp,
      tcp,
      metrics,
      health: core.plane,
      workers: dns,
      follower,
      admin,
      forwarders: core.forwarders,
      readiness: ready,
      get metricsPort() {
        return metricsServer ? (metricsServer.address() as AddressInfo).port : null;
      },
      apply: (config) => core.apply(config),
      reload: () => {
        const problems = reloadNode(core, sources, log);
        // A file this process rejected reaches no worker: every process keeps the config in force.
        if (!problems.length) dns?.configChanged(true);
        return [...problems, ...reloadAdminTls(admin, log)];
      },
      close: () => stack.close(),
    };
  });
}

/** The health plane (with its in-process probes in embedded mode) and the DNS core reading it. */
function openNodeCore(yaml: LoadedConfig, log: Logger, stack: ResourceStack, initialOverrides: Override[], budget: ConnectionBudget | null): NodeCore {
  const probeMetrics = createProbeMetrics();
  const plane = openHealthPlane(yaml, { log, probes: true, onCheck: probeMetrics.onCheck, onFlip: probeMetrics.onFlip, onDenied: probeMetrics.onDenied, initialOverrides });
  stack.push('health plane', () => plane.close());
  return Object.assign(openDnsCore(yaml, log, stack, planeFeed(plane), budget), { plane, probeMetrics });
}

/** The fd budget of a node running forwarders, read once at start, before any listener: relayed connections can never take the reserve (src/node/fds.ts). */
function fdBudget(yaml: LoadedConfig, log: Logger): ConnectionBudget | null {
  if (!yaml.forward.embedded.length) return null;
  const budget = openBudget(yaml, 'serve', yaml.forward.embedded.length);
  const problems = budgetProblems(yaml, budget);
  if (problems.length) throw new ConfigError(problems);
  log.info({ fdLimit: budget.limit, fdReserve: budget.reserve, relayedConnections: budget.connections }, 'fd budget');
  return budget;
}

/** `tcp` null: the DNS metrics come from the workers (src/node/workers/metrics-page.ts), not this process. */
function nodeMetrics(core: NodeCore, tcp: TcpListener[] | null, sources: ConfigSources): Registry {
  const metrics = createMetrics({
    forwarderBlocksRejected: () => sources.rejectedBlocks,
    ...(tcp ? { dns: () => core.responder.stats, tcpOpen: () => tcp.reduce((n, l) => n + l.connectionCount, 0) } : {}),
    // A getter: the database may be opened later, by the first version that needs it.
    geo: () => core.geo?.metrics ?? null,
    health: () => core.plane,
  });
  core.probeMetrics.register(metrics);
  configMetrics(metrics, sources);
  return metrics;
}

/** /readyz of a DNS node: its data, config and health, and with DNS workers every worker answering. */
function nodeReadiness(core: NodeCore, follower: ConfigFollower | null, sources: ConfigSources, dns: DnsWorkers | null, count: number): Readiness {
  const workers: Readiness = () => ({ reasons: dns && dns.pool.running < count ? [`dns: ${dns.pool.running} of ${count} workers answering`] : [], notes: [] });
  return allOf(
    dataReadiness(
      () => core.config,
      () => core.geo !== null,
    ),
    configReadiness(follower, sources),
    healthReadiness(core.plane),
    workers,
  );
}

/** SIGHUP: the admin API's certificate files again (listener settings themselves apply at start). */
function reloadAdminTls(admin: AdminServer | null, log: Logger): string[] {
  try {
    admin?.reloadTls();
    return [];
  } catch (err) {
    log.error({ err: (err as Error).message }, 'admin API: certificate not reloaded; the old one is still served');
    return [`admin.tls: ${(err as Error).message}`];
  }
}

/** SIGHUP: the YAML and zone files again, through the same apply() as every store version. */
function reloadNode(core: NodeCore, sources: ConfigSources, log: Logger): string[] {
  const problems = sources.reload();
  if (problems.length) {
    log.error({ problems }, 'reload rejected; the running data keeps answering');
    return problems;
  }
  core.geo?.reload();
  log.info({ zones: core.config.zones.map((z) => z.origin) }, 'reloaded');
  return [];
}

/**
 * Follows the config store. In cluster mode the local copy is kept current with the tokens, audit
 * tail and overrides beside the version (a Redis that came back empty gets its overrides back from
 * the health source, src/health/source.ts, which keeps them in force meanwhile).
 */
async function followNodeStore(opener: StoreOpener, copy: LocalCopyFile | null, core: NodeCore, sources: ConfigSources, log: Logger, stack: ResourceStack): Promise<ConfigFollower> {
  const follower = await followStore(opener, core.config, sources, log, stack, { localCopy: copy, restores: true });
  if (copy) {
    const refresher = new CopyRefresher(copy, follower.gate, () => core.plane.source.overrides, core.config.admin?.copyRefreshMs);
    // A commit's audit entry comes with its version; tokens and other audit entries with a notice.
    follower.onSideChange(() => void refresher.refresh());
    follower.onApplied(() => void refresher.refresh());
    refresher.start();
    stack.push('local copy refresh', () => refresher.stop());
  }
  return follower;
}

async function openForwarders(core: NodeCore, metrics: Registry, log: Logger, stack: ResourceStack, onRejectedBlock: (region: string) => void): Promise<void> {
  if (!core.config.forward.embedded.length) return;
  // Loaded only when used, like the admin API: a DNS node without forwarders does not carry them.
  const { startForwarder } = await import('./forward/forwarder.js');
  const deps = { health: core.plane.source, bus: core.plane.bus, geo: () => core.geo?.current ?? null, log, metrics, onRejectedBlock, ...(core.budget ? { budget: core.budget } : {}) };
  for (const region of core.config.forward.embedded) {
    // Drained on close (new connections refused, open ones get forward.drainDeadlineMs), as
    // `meridian forward` does on SIGTERM, while the health plane they read is still up.
    const f = await stack.open(
      `forwarder ${region}`,
      () => startForwarder(core.config, region, deps),
      async (fwd) => {
        await fwd.drain(core.config.forward.drainDeadlineMs);
        await fwd.close();
      },
    );
    core.forwarders.push(f);
  }
}

async function openAdmin(
  core: NodeCore,
  follower: ConfigFollower,
  sources: ConfigSources,
  copy: LocalCopyFile | null,
  log: Logger,
  stack: ResourceStack,
  recentClients: () => string[],
): Promise<AdminServer> {
  const settings = core.config.admin!;
  const listen = parseListen(settings.listen!);
  if (typeof listen === 'string') throw new ConfigError([`${core.config.file}: admin.listen: ${listen}`]);
  const bus = core.plane.bus;
  // Dry runs decide with the live code in a worker thread, off the DNS event loop (src/node/dryrun-pool.ts).
  const dryRuns = new DryRunPool({
    queue: settings.dryRunQueue,
    context: () => ({ geo: core.geo ? { path: core.geo.path, version: core.geo.version } : null, probeDefaults: sources.settings.health.probe }),
    log,
  });
  stack.push('dry-run worker', () => dryRuns.close());
  // Loaded only when the API is on: fastify and its plugins make the heap bigger and every
  // scavenge slower (bench/forward/README.md), which a DNS node without an API should not pay.
  const { startAdminServer } = await import('./admin/server.js');
  const deps = {
    // The gate: the API starts and serves reads whether or not the store can be reached.
    store: follower.gate,
    current: () => follower.record,
    localTokens: () => copy?.latest?.tokens ?? [],
    overridesInForce: () => core.plane.source.overrides,
    regionHealth: (id: string) => {
      const v = core.plane.source.current.regionVerdict(id);
      return v ? { state: v.state, source: v.source, endpointsUp: v.up, endpointsCounted: v.counted } : null;
    },
    healthReport: () => healthReport(follower.version, core.plane.source.current, core.plane.source.vantageViews, core.plane.source.overrides, Date.now()),
    // Documents are validated with the probe defaults of the YAML in force, as the node compiles them,
    // and with its health.targets: a write cannot point a check where this node's probes may not go.
    // And with the forwarder's rules for the regions' forwarder: blocks, against this node's listeners and sockets.
    compile: (doc: unknown, base?: ConfigDocument) =>
      refuseDenied(refuseBadForwarders(compileShared(doc, sources.settings.health.probe), forwarderScope(sources.settings), base), sources.settings.targets),
    live: () => ({ version: follower.version, services: core.services(), zones: zoneSet(core.config, core.services()).byKey }),
    applied: () => follower.catchUp(),
    health: () => core.plane.source.current,
    healthUnder: (overrides: Override[]) => core.plane.source.withOverrides(overrides),
    dryRuns,
    bus,
    onOverridesChanged: () => void core.plane.source.refresh(),
    recentClients,
    forwarderConnections: async (region: string) => {
      const live = (await bus.readLoads([region])).filter((r) => isLive(r, Date.now()));
      return live.length ? live.reduce((n, r) => n + r.active, 0) : null;
    },
    settings,
    staticTokens: settings.tokens,
    log,
  };
  const admin = await stack.open(
    'admin API',
    () => startAdminServer(deps, listen, resolvePath(dirname(core.config.file), settings.dataDir), settings.tls ?? null),
    (a) => a.close(),
  );
  follower.onApplied(() => void admin.runtime.drains.resume().catch(() => undefined));
  return admin;
}
