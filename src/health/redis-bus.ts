/**
 * The cluster-mode HealthBus over Redis (ioredis). Key layout (every key shares the `{meridian}`
 * hash tag, so MULTI and scripts stay in one slot on Redis Cluster):
 *
 *   {meridian}:health:vantage:<id>  HASH  <endpoint key> → JSON EndpointObservation,
 *                                          `_meta` → JSON { region, heartbeatAt }; PEXPIRE = heartbeat TTL
 *   {meridian}:health:vantages      SET   vantage ids, so readViews is O(vantages) without SCAN
 *   {meridian}:overrides            HASH  <scope> → JSON Override (expiry inside the record), and
 *                                          `_meta` → "1" once any override was written, so an empty
 *                                          hash (all cleared) differs from none at all (data lost)
 *   {meridian}:load:<region>        HASH  <forwarder id> → JSON LoadReport; PEXPIRE = report TTL
 *   {meridian}:health               pub/sub channel of JSON BusEvent notices
 *
 * Static stability: both connections come from src/redis/client.ts (no offline queue, no per-request
 * retries, a command timeout), so while Redis is away every call rejects at once instead of queueing
 * or hanging; the caller (HealthSource) keeps its last snapshot. Reconnects back off exponentially
 * with jitter, and each (re)connection ends with a `resync` event once the channel is subscribed
 * again, because messages published while we were away are gone. The same code runs on a single
 * server, a Sentinel-managed master or a Redis Cluster (every key of one operation in one slot).
 * @module
 */
import { describeRedis, redactUrl, type RedisConnection } from '../redis/config.js';
import { createRedisClient, quit, timeoutsOf, type ClientRole, type RedisClient } from '../redis/client.js';
import { NoViewError } from './memory-bus.js';
import { isLive, parseLoadReport } from './load.js';
import { isExpired, parseOverride } from './overrides.js';
import type { BusEvent, EndpointKey, EndpointObservation, HealthBus, LoadReport, Override, OverrideScope, VantageView } from './types.js';

export interface RedisBusOptions {
  /** `redis://host:port/db`, `rediss://…`: one server (tests, tools). */
  url?: string;
  /** A resolved `redis:` section (single, Sentinel or Cluster; src/redis); wins over `url`. */
  connection?: RedisConnection;
  /** Key prefix; must contain a `{hash tag}`. Tests use their own to share one server. */
  prefix?: string;
  /** First reconnect delay; doubles per attempt up to retryMaxMs, with ±25 % jitter against herds. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** A command not answered in this time rejects (a half-open TCP connection must not hang reads). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Clock for override expiry. */
  now?: () => number;
}

/** Timeouts default to the connection's (src/redis, REDIS_DEFAULTS). */
export const REDIS_BUS_DEFAULTS = {
  prefix: '{meridian}',
} as const;

const META = '_meta';

/** HSET + PUBLISH only if the view exists: a change must never create a view without a TTL. */
const PUBLISH_CHANGE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

/** Heartbeat of an existing view: its meta and TTL, the id in the set, a notice. Never creates a view. */
const BEAT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`;

/** Drops a vantage id from the set only if its view is still gone (a writer may have just re-added it). */
const FORGET_VANTAGE = `
if redis.call('EXISTS', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end
return 0`;

/** Deletes an expired override only if it is still the same record (not a fresh one for the scope). */
const DELETE_IF_SAME = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;

/** Writes the overrides and the marker only into a bus with no override record. ARGV: channel, notice, field, value … */
const RESTORE_OVERRIDES = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1`;

type Scripted = RedisClient & {
  meridianRestoreOverrides(key: string, ...args: string[]): Promise<number>;
  meridianPublishChange(key: string, endpoint: string, obs: string, channel: string, notice: string): Promise<number>;
  meridianBeat(key: string, vantages: string, field: string, meta: string, ttlMs: number, id: string, channel: string, notice: string): Promise<number>;
  meridianForgetVantage(setKey: string, viewKey: string, id: string): Promise<number>;
  meridianDeleteIfSame(hashKey: string, field: string, value: string): Promise<number>;
};

export class RedisBus implements HealthBus {
  private readonly cmd: Scripted;
  private readonly sub: RedisClient;
  private readonly listeners = new Set<(event: BusEvent) => void>();
  private readonly now: () => number;
  private readonly keys: { view: (id: string) => string; vantages: string; overrides: string; load: (region: string) => string; channel: string };
  private subscribed = false;
  private closed = false;
  /** Last transport error, for diagnostics (`meridian health status`). */
  lastError: string | null = null;
  /** Where the bus connects, without secrets (logs). */
  readonly where: string;

  constructor(opts: RedisBusOptions) {
    const prefix = opts.prefix ?? REDIS_BUS_DEFAULTS.prefix;
    if (!/\{[^{}]+\}/.test(prefix)) throw new Error(`health bus: prefix '${prefix}' needs a {hash tag} for Redis Cluster`);
    this.keys = {
      view: (id) => `${prefix}:health:vantage:${id}`,
      vantages: `${prefix}:health:vantages`,
      overrides: `${prefix}:overrides`,
      load: (region) => `${prefix}:load:${region}`,
      channel: `${prefix}:health`,
    };
    this.now = opts.now ?? Date.now;
    // We subscribe ourselves on every `ready`, so the resync can wait for the SUBSCRIBE reply.
    const target = opts.connection ?? opts.url;
    if (!target) throw new Error('health bus: give a Redis url or connection');
    this.where = typeof target === 'string' ? redactUrl(target) : describeRedis(target);
    const timeouts = timeoutsOf(target, opts);
    const open = (name: string, role: ClientRole): RedisClient => createRedisClient(target, { name, role, timeouts, closed: () => this.closed });
    this.cmd = open('meridian-health', 'command') as Scripted;
    this.sub = open('meridian-health-sub', 'subscriber');
    this.cmd.defineCommand('meridianPublishChange', { numberOfKeys: 1, lua: PUBLISH_CHANGE });
    this.cmd.defineCommand('meridianBeat', { numberOfKeys: 2, lua: BEAT });
    this.cmd.defineCommand('meridianForgetVantage', { numberOfKeys: 2, lua: FORGET_VANTAGE });
    this.cmd.defineCommand('meridianDeleteIfSame', { numberOfKeys: 1, lua: DELETE_IF_SAME });
    this.cmd.defineCommand('meridianRestoreOverrides', { numberOfKeys: 1, lua: RESTORE_OVERRIDES });

    // Without an 'error' listener ioredis prints every failed reconnect; the source logs state changes instead.
    const onError = (err: Error): void => {
      this.lastError = err.message;
    };
    this.cmd.on('error', onError);
    this.sub.on('error', onError);
    this.cmd.on('ready', () => this.maybeResync());
    this.sub.on('ready', () => void this.resubscribe());
    this.sub.on('close', () => {
      this.subscribed = false;
    });
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.keys.channel) this.emit(parseNotice(message));
    });
  }

  get connected(): boolean {
    return !this.closed && this.cmd.status === 'ready' && this.subscribed;
  }

  /** Resolves once connected and subscribed (probe start-up, CLI tools); rejects after `timeoutMs`. */
  whenConnected(timeoutMs = 5_000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`health bus: not connected after ${timeoutMs} ms${this.lastError ? ` (${this.lastError})` : ''}`));
      }, timeoutMs);
      const listener = (e: BusEvent): void => {
        if (e.kind !== 'resync') return;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
    });
  }

  async writeView(view: VantageView, heartbeatTtlMs: number): Promise<void> {
    const key = this.keys.view(view.vantage);
    const fields: Record<string, string> = {
      [META]: JSON.stringify({ region: view.region, heartbeatAt: view.heartbeatAt }),
    };
    for (const [ep, obs] of view.endpoints) fields[ep] = JSON.stringify(obs);
    // One transaction: a reader sees the old view or the new one, and the TTL is never missing.
    const res = await this.cmd
      .multi()
      .del(key)
      .hset(key, fields)
      .pexpire(key, Math.max(1, Math.round(heartbeatTtlMs)))
      .sadd(this.keys.vantages, view.vantage)
      .publish(this.keys.channel, JSON.stringify({ kind: 'view', vantage: view.vantage }))
      .exec();
    checkExec(res);
  }

  async beat(vantage: string, region: string | null, heartbeatAt: number, heartbeatTtlMs: number): Promise<boolean> {
    const meta = JSON.stringify({ region, heartbeatAt });
    const notice = JSON.stringify({ kind: 'beat', vantage, region, heartbeatAt });
    const ttl = Math.max(1, Math.round(heartbeatTtlMs));
    return (await this.cmd.meridianBeat(this.keys.view(vantage), this.keys.vantages, META, meta, ttl, vantage, this.keys.channel, notice)) === 1;
  }

  async publishChange(vantage: string, endpoint: EndpointKey, observation: EndpointObservation): Promise<void> {
    const obs = JSON.stringify(observation);
    const notice = JSON.stringify({ kind: 'change', vantage, endpoint, observation });
    const ok = await this.cmd.meridianPublishChange(this.keys.view(vantage), endpoint, obs, this.keys.channel, notice);
    if (ok !== 1) throw new NoViewError(vantage);
  }

  async readViews(): Promise<VantageView[]> {
    const ids = await this.cmd.smembers(this.keys.vantages);
    if (ids.length === 0) return [];
    const pipe = this.cmd.pipeline();
    for (const id of ids) pipe.hgetall(this.keys.view(id));
    const res = checkExec(await pipe.exec());
    const views: VantageView[] = [];
    ids.forEach((id, i) => {
      const hash = res[i] as Record<string, string>;
      const view = parseView(id, hash);
      if (view) views.push(view);
      else if (Object.keys(hash).length === 0) {
        // Expired heartbeat: tidy the set so reads stay O(live vantages). Best effort.
        this.cmd.meridianForgetVantage(this.keys.vantages, this.keys.view(id), id).catch(() => undefined);
      }
    });
    return views;
  }

  async writeLoad(report: LoadReport, ttlMs: number): Promise<void> {
    const r = parseLoadReport(report);
    if (!r) throw new Error('health bus: invalid load report');
    const key = this.keys.load(r.region);
    const json = JSON.stringify(r);
    // The key's TTL is refreshed by every forwarder of the region; a dead one's field lingers while
    // others write, so readers also judge each report by its own `at + ttlMs`.
    const res = await this.cmd
      .multi()
      .hset(key, r.forwarder, json)
      .pexpire(key, Math.max(1, Math.round(ttlMs)))
      .publish(this.keys.channel, JSON.stringify({ kind: 'load', report: r }))
      .exec();
    checkExec(res);
  }

  async readLoads(regions: string[]): Promise<LoadReport[]> {
    if (regions.length === 0) return [];
    const pipe = this.cmd.pipeline();
    for (const region of regions) pipe.hgetall(this.keys.load(region));
    const res = checkExec(await pipe.exec());
    const now = this.now();
    const out: LoadReport[] = [];
    regions.forEach((region, i) => {
      for (const [field, json] of Object.entries(res[i] as Record<string, string>)) {
        const r = parseLoadReport(json);
        if (!r || r.region !== region || r.forwarder !== field) continue;
        if (isLive(r, now)) out.push(r);
        // A dead forwarder's report: delete it unless it was just rewritten (best effort).
        else this.cmd.meridianDeleteIfSame(this.keys.load(region), field, json).catch(() => undefined);
      }
    });
    return out;
  }

  async readOverrides(): Promise<Override[]> {
    const now = this.now();
    // Expired records are skipped, not deleted: the sweep that deletes one is the one that audits it.
    return (await this.overrideRecords()).filter(({ o }) => !isExpired(o, now)).map(({ o }) => o);
  }

  async readOverrideState(): Promise<{ overrides: Override[]; present: boolean }> {
    const hash = await this.cmd.hgetall(this.keys.overrides);
    const now = this.now();
    return {
      overrides: overrideRecordsOf(hash)
        .filter(({ o }) => !isExpired(o, now))
        .map(({ o }) => o),
      present: Object.keys(hash).length > 0,
    };
  }

  async restoreOverrides(overrides: Override[]): Promise<boolean> {
    const pairs = overrides.map(parseOverride).flatMap((o) => [o.scope, JSON.stringify(o)]);
    const notice = JSON.stringify({ kind: 'override' });
    return (await this.cmd.meridianRestoreOverrides(this.keys.overrides, this.keys.channel, notice, META, '1', ...pairs)) === 1;
  }

  /** Every readable record with its field and stored JSON; a record we cannot read must not take down the others. */
  private async overrideRecords(): Promise<{ field: string; json: string; o: Override }[]> {
    return overrideRecordsOf(await this.cmd.hgetall(this.keys.overrides));
  }

  async writeOverride(override: Override): Promise<void> {
    const o = parseOverride(override);
    const res = await this.cmd
      .multi()
      .hset(this.keys.overrides, o.scope, JSON.stringify(o), META, '1')
      .publish(this.keys.channel, JSON.stringify({ kind: 'override' }))
      .exec();
    checkExec(res);
  }

  async deleteOverride(scope: OverrideScope): Promise<boolean> {
    const res = checkExec(
      await this.cmd
        .multi()
        .hdel(this.keys.overrides, scope)
        // The marker stays: the last override cleared is an empty record, not a lost one.
        .hset(this.keys.overrides, META, '1')
        .publish(this.keys.channel, JSON.stringify({ kind: 'override' }))
        .exec(),
    );
    return res[0] === 1;
  }

  async sweepExpiredOverrides(): Promise<Override[]> {
    const now = this.now();
    const swept: Override[] = [];
    for (const { field, json, o } of await this.overrideRecords()) {
      // Only if still the same record: a fresh override for the scope stays, and of two nodes
      // sweeping at once exactly one gets 1 back.
      if (isExpired(o, now) && (await this.cmd.meridianDeleteIfSame(this.keys.overrides, field, json)) === 1) swept.push(o);
    }
    return swept;
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    this.listeners.add(listener);
    // A late subscriber still gets its `resync` (the contract: one after connecting).
    if (this.connected) queueMicrotask(() => this.listeners.has(listener) && safeCall(listener, { kind: 'resync' }));
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await Promise.all([quit(this.cmd), quit(this.sub)]);
  }

  private async resubscribe(): Promise<void> {
    try {
      await this.sub.subscribe(this.keys.channel);
      this.subscribed = true;
      this.maybeResync();
    } catch (err) {
      // The connection dropped again before the reply; the next `ready` tries again.
      this.lastError = (err as Error).message;
    }
  }

  private maybeResync(): void {
    if (this.connected) this.emit({ kind: 'resync' });
  }

  private emit(event: BusEvent): void {
    for (const l of [...this.listeners]) safeCall(l, event);
  }
}

/** Readable override records of the hash (the marker and damaged records skipped). */
function overrideRecordsOf(hash: Record<string, string>): { field: string; json: string; o: Override }[] {
  const out: { field: string; json: string; o: Override }[] = [];
  for (const [field, json] of Object.entries(hash)) {
    if (field === META) continue;
    try {
      out.push({ field, json, o: parseOverride(JSON.parse(json)) });
    } catch {
      // a record we cannot read must not take down the others
    }
  }
  return out;
}

function safeCall(listener: (event: BusEvent) => void, event: BusEvent): void {
  try {
    listener(event);
  } catch {
    // One listener's bug must not stop delivery to the others.
  }
}

/** Throws the first error of a MULTI/pipeline reply; returns the values. */
function checkExec(res: [Error | null, unknown][] | null): unknown[] {
  if (!res) throw new Error('health bus: transaction aborted');
  for (const [err] of res) if (err) throw err;
  return res.map(([, v]) => v);
}

function parseView(vantage: string, hash: Record<string, string>): VantageView | null {
  const metaText = hash[META];
  if (!metaText) return null;
  let meta: { region?: unknown; heartbeatAt?: unknown };
  try {
    meta = JSON.parse(metaText) as typeof meta;
  } catch {
    return null;
  }
  if (typeof meta.heartbeatAt !== 'number') return null;
  const endpoints = new Map<EndpointKey, EndpointObservation>();
  for (const [field, json] of Object.entries(hash)) {
    if (field === META) continue;
    const obs = parseObservation(json);
    if (obs) endpoints.set(field, obs);
  }
  return { vantage, region: typeof meta.region === 'string' ? meta.region : null, heartbeatAt: meta.heartbeatAt, endpoints };
}

function parseObservation(json: unknown): EndpointObservation | null {
  let v: Record<string, unknown>;
  try {
    v = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  if (v.status !== 'up' && v.status !== 'down') return null;
  if (typeof v.since !== 'number' || typeof v.checkedAt !== 'number') return null;
  return {
    status: v.status,
    since: v.since,
    checkedAt: v.checkedAt,
    rttMs: typeof v.rttMs === 'number' ? v.rttMs : null,
    error: typeof v.error === 'string' ? v.error : null,
  };
}

/** A notice we cannot read still means "something changed": re-read everything rather than drop it. */
function parseNotice(message: string): BusEvent {
  try {
    const v = JSON.parse(message) as Record<string, unknown>;
    if (v.kind === 'override') return { kind: 'override' };
    if (v.kind === 'load') {
      const report = parseLoadReport(v.report);
      if (report) return { kind: 'load', report };
    }
    if (v.kind === 'view' && typeof v.vantage === 'string') return { kind: 'view', vantage: v.vantage };
    if (v.kind === 'beat' && typeof v.vantage === 'string' && typeof v.heartbeatAt === 'number' && (typeof v.region === 'string' || v.region === null)) {
      return { kind: 'beat', vantage: v.vantage, region: v.region, heartbeatAt: v.heartbeatAt };
    }
    if (v.kind === 'change' && typeof v.vantage === 'string' && typeof v.endpoint === 'string') {
      const observation = parseObservation(v.observation);
      if (observation) return { kind: 'change', vantage: v.vantage, endpoint: v.endpoint, observation };
    }
  } catch {
    // fall through
  }
  return { kind: 'resync' };
}
