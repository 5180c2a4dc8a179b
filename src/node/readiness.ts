/**
 * What `/readyz` checks in each role (src/obs/health-endpoints.ts serves it). A role is ready when
 * it can do its job with what it knows: a node that answers from data it never received is not.
 * @module
 */
import type { LoadedConfig } from '../config/load.js';
import type { HealthPlane } from '../health/plane.js';
import type { ReadyState, Readiness } from '../obs/health-endpoints.js';
import type { Vantage } from '../probe/vantage.js';
import type { ConfigFollower } from '../store/follow.js';
import type { ConfigSources } from './sources.js';

/** Snapshot age above which /readyz adds a note: the age of `MeridianHealthSnapshotStale` (deploy/prometheus/alerts.yaml). */
export const STALE_SNAPSHOT_SECONDS = 60;

const state = (reasons: string[], notes: string[] = []): ReadyState => ({ reasons, notes });

/**
 * Config applied: with a config store, a store version (from the store or the local copy); version
 * 0 means the store was never reached and the process runs on the YAML's seed, which may be far
 * behind what the operators applied.
 */
export function configReadiness(follower: ConfigFollower | null, sources: ConfigSources): Readiness {
  return () => state(follower && sources.appliedVersion === 0 ? ['config: no config-store version applied yet (store not reached, no local copy); running on the YAML seed'] : []);
}

/**
 * The health snapshot. Redis mode: not ready before the first full read of the bus (the cold-start
 * snapshot says every endpoint is up, which nobody checked). A snapshot that has gone stale since
 * is only a note: every node shares the one Redis, so making a stale node unready would take the
 * whole fleet out of rotation at once when Redis goes away, while answering from the last snapshot
 * is what static stability is for (`MeridianHealthSnapshotStale` alerts on it). Embedded mode: the
 * process is its own vantage, always fresh.
 */
export function healthReadiness(plane: HealthPlane): Readiness {
  return () => {
    if (plane.mode === 'embedded') return state([]);
    const { source } = plane;
    if (!source.hasSynced) return state([`health: no snapshot read from Redis yet (Redis ${plane.bus.connected ? 'connected' : 'not connected'})`]);
    const age = source.snapshotAgeSeconds();
    return state([], age > STALE_SNAPSHOT_SECONDS ? [`health: snapshot ${Math.round(age)} s old (Redis ${plane.bus.connected ? 'connected' : 'not connected'}); answering from it`] : []);
  };
}

/** Zones and the geo database the config needs are loaded. */
export function dataReadiness(config: () => LoadedConfig, geoLoaded: () => boolean): Readiness {
  return () => {
    const c = config();
    const reasons: string[] = [];
    if (c.zones.length === 0) reasons.push('zones: none loaded');
    if (c.routing.services.some((s) => s.chain.needsGeo) && !geoLoaded()) reasons.push('geo: the database the services need is not loaded');
    return state(reasons);
  };
}

/**
 * A probe is ready once its view reached the bus and while the latest heartbeat did: a probe that
 * cannot publish checks for nobody (its view expires on every DNS node after the heartbeat TTL).
 */
export function publishReadiness(vantage: Vantage): Readiness {
  return () => {
    const p = vantage.publishes;
    if (p.lastAt === 0) return state(['health bus: the view was not published yet']);
    return state(p.lastFailed ? [`health bus: the latest heartbeat was not published (last published ${new Date(p.lastAt).toISOString()})`] : []);
  };
}
