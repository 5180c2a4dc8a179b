/**
 * `meridian region list|show|weight|drain|undrain`: regions through a node's admin API
 * (`/v1/regions`, src/admin/README.md). A region's configured `state` is the operator's intent; its
 * health is what this node's answers act on (probes, overrides and the configured state combined).
 * @module
 */
import type { Command } from 'commander';
import { connect, printJson, readCommand, writeCommand, type AdminApi } from './api.js';
import type { DrainStatus as ApiDrainStatus } from '../admin/drain.js';
import { act, Failure, integer, regionId, subcommand } from './define.js';
import { formatChange, type ChangeResult } from './render.js';
import { colourOn, fields, paint, shortTime, stateColour, table } from './table.js';

interface RegionView {
  id: string;
  location: { continent?: string; country?: string; subdivision?: string; lat: number; lon: number };
  addresses: { ipv4?: string[]; ipv6?: string[] };
  weight: number;
  state: string;
  endpoints: { id?: string; address: string; port: number }[];
  health: { state: string; source: string; endpointsUp: number; endpointsCounted: number } | null;
}

/** A drain's status as the API returns it; a dry run adds what would change. */
export interface DrainStatus extends ApiDrainStatus {
  dryRun?: true;
  diff?: ChangeResult['diff'];
  answers?: ChangeResult['answers'];
}

export function registerRegion(program: Command): void {
  const group = subcommand(program, {
    name: 'region',
    summary: 'list, show, weight, drain and undrain regions',
    examples: ['meridian region list', 'meridian region drain eu-west --reason "maintenance" --wait', 'meridian region weight us-east 50 --reason "half the racks"'],
  });
  const list = readCommand(group, {
    name: 'list',
    summary: 'every region with its weight, configured state and live health',
    examples: ['meridian region list', 'meridian region list --json | jq ".[].id"'],
  });
  act(list, () => listRegions(list));
  const show = readCommand(group, {
    name: 'show',
    summary: 'one region: location, addresses, endpoints, health and drain',
    examples: ['meridian region show eu-west', 'meridian region show eu-west --json'],
  }).argument('<id>', 'region id', regionId);
  act(show, () => showRegion(show));
  const weight = writeCommand(group, {
    name: 'weight',
    summary: "set a region's capacity weight (0 = standby)",
    examples: ['meridian region weight us-east 50 --reason "half the racks"', 'meridian region weight eu-west 0 --dry-run'],
  })
    .argument('<id>', 'region id', regionId)
    .argument('<weight>', 'whole number 0-1000000 (0: standby, used only when no region with weight is up)', integer(0, 1_000_000));
  act(weight, () => setWeight(weight));
  const drain = writeCommand(group, {
    name: 'drain',
    summary: 'drain a region: lower the TTL of its answers, wait out the old TTL, stop handing it out',
    examples: ['meridian region drain eu-west --reason "maintenance"', 'meridian region drain eu-west --ttl 10 --wait'],
  })
    .argument('<id>', 'region id', regionId)
    .option('--ttl <seconds>', 'TTL of answers carrying the region while it drains (default: admin.drainTtl)', integer(0, 3600))
    .option('--wait', 'wait until the region is drained (no longer handed out)');
  act(drain, () => drainRegion(drain));
  const undrain = writeCommand(group, { name: 'undrain', summary: 'end a drain: the region is handed out again', examples: ['meridian region undrain eu-west --reason "maintenance done"'] }).argument(
    '<id>',
    'region id',
    regionId,
  );
  act(undrain, () => undrainRegion(undrain));
}

async function listRegions(cmd: Command): Promise<number> {
  const { body } = await connect(cmd).get<RegionView[]>('/v1/regions');
  if (cmd.opts().json) printJson(body);
  else process.stdout.write(regionTable(body));
  return 0;
}

function regionTable(regions: RegionView[]): string {
  return table(regions, [
    { title: 'REGION', value: (r) => r.id },
    { title: 'WEIGHT', value: (r) => r.weight, right: true },
    { title: 'CONFIGURED', value: (r) => r.state, paint: (r) => (r.state === 'up' ? undefined : stateColour(r.state)) },
    { title: 'HEALTH', value: (r) => r.health?.state ?? 'not applied yet', paint: (r) => stateColour(r.health?.state) },
    { title: 'DECIDED BY', value: (r) => r.health?.source },
    { title: 'ENDPOINTS UP', value: (r) => (r.health ? `${r.health.endpointsUp}/${r.health.endpointsCounted}` : `?/${r.endpoints.length}`), right: true },
    { title: 'LOCATION', value: (r) => [r.location.continent, r.location.country, r.location.subdivision].filter(Boolean).join('/') },
    { title: 'ADDRESSES', value: (r) => [...(r.addresses.ipv4 ?? []), ...(r.addresses.ipv6 ?? [])].join(' ') },
  ]);
}

async function showRegion(cmd: Command): Promise<number> {
  const api = connect(cmd);
  const [id] = cmd.processedArgs as [string];
  const { body: region, version } = await api.get<RegionView>(`/v1/regions/${id}`);
  const { body: drain } = await api.get<DrainStatus>(`/v1/regions/${id}/drain`);
  if (cmd.opts().json) {
    printJson({ ...region, drainStatus: drain });
    return 0;
  }
  const on = colourOn();
  const h = region.health;
  process.stdout.write(
    fields([
      ['region', region.id],
      ['config version', String(version ?? '-')],
      ['location', `${[region.location.continent, region.location.country, region.location.subdivision].filter(Boolean).join('/')} (${region.location.lat}, ${region.location.lon})`],
      ['addresses', [...(region.addresses.ipv4 ?? []), ...(region.addresses.ipv6 ?? [])].join(' ') || '-'],
      ['weight', String(region.weight)],
      ['configured', region.state],
      ['health', h ? `${paint(h.state, stateColour(h.state), on)} (decided by ${h.source}; ${h.endpointsUp}/${h.endpointsCounted} endpoints up)` : 'not applied by this node yet'],
      ['drain', describeDrain(drain)],
    ]),
  );
  if (region.endpoints.length) {
    process.stdout.write(
      '\n' +
        table(
          region.endpoints,
          [
            { title: 'ENDPOINT', value: (e) => e.id ?? `${e.address}:${e.port}` },
            { title: 'ADDRESS', value: (e) => `${e.address}:${e.port}` },
          ],
          on,
        ),
    );
  }
  return 0;
}

/** A drain's phase in words: what clients get now, and when that changes. */
export function describeDrain(d: DrainStatus): string {
  const conns = d.forwarderConnections === null ? '' : `; ${d.forwarderConnections} forwarder connections open`;
  if (d.phase === 'none') return 'none (handed out)';
  if (d.phase === 'drained') return `drained since ${shortTime(d.completeAt)} (not handed out)${conns}`;
  return `lowering: answers carry TTL ${d.ttl} s; stops being handed out at ${shortTime(d.completeAt)} (in ${Math.ceil(d.remainingSeconds)} s)${conns}`;
}

async function setWeight(cmd: Command): Promise<number> {
  const [id, weight] = cmd.processedArgs as [string, number];
  const o = cmd.opts();
  const r = await connect(cmd).write<ChangeResult>('PUT', `/v1/regions/${id}/weight`, { weight }, o);
  if (o.json) printJson(r);
  else process.stdout.write(formatChange(r, `region ${id} weight ${weight}`));
  return 0;
}

async function drainRegion(cmd: Command): Promise<number> {
  const [id] = cmd.processedArgs as [string];
  const o = cmd.opts();
  const api = connect(cmd);
  // The API keeps a drain in progress as it is (idempotent): a new --ttl would be silently ignored.
  const now = (await api.get<DrainStatus>(`/v1/regions/${id}/drain`)).body;
  if (now.phase !== 'none' && o.ttl !== undefined && o.ttl !== now.ttl && !o.dryRun)
    throw new Failure(
      'MERIDIAN_ERR_CONFLICT',
      `region ${id} is already ${now.phase === 'drained' ? 'drained' : 'draining'} (TTL ${now.ttl} s, since ${now.startedAt}): --ttl ${o.ttl as number} was not applied and nothing changed; undrain it first to drain with another TTL`,
    );
  let status = await api.write<DrainStatus>('POST', `/v1/regions/${id}/drain`, o.ttl !== undefined ? { ttl: o.ttl } : {}, o);
  if (now.phase !== 'none' && !status.dryRun) {
    const reason = o.reason !== undefined ? ', and --reason was not recorded' : '';
    process.stderr.write(`region ${id} was already ${now.phase === 'drained' ? 'drained' : 'draining'} (since ${now.startedAt}): nothing changed, no version was made${reason}\n`);
  }
  if (!o.json) process.stdout.write(drainLine(status, id));
  if (o.wait && !status.dryRun) status = await waitDrained(api, id, status, !o.json);
  if (o.json) printJson(status);
  return 0;
}

function drainLine(s: DrainStatus, id: string): string {
  if (s.dryRun)
    return `dry run: drain of ${id} (nothing was changed)\n${formatChange({ version: s.version, diff: s.diff ?? [], dryRun: true, ...(s.answers ? { answers: s.answers } : {}) }, `drain ${id}`)}`;
  return `region ${id}: ${describeDrain(s)} (config version ${s.version})\n`;
}

/** Polls the drain until the region is no longer handed out (or the drain was ended meanwhile). */
async function waitDrained(api: AdminApi, id: string, first: DrainStatus, tell: boolean): Promise<DrainStatus> {
  let s = first;
  while (s.phase === 'lowering') {
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(100, s.remainingSeconds * 1000))));
    s = (await api.get<DrainStatus>(`/v1/regions/${id}/drain`)).body;
  }
  if (tell) process.stdout.write(`region ${id}: ${describeDrain(s)} (config version ${s.version})\n`);
  return s;
}

async function undrainRegion(cmd: Command): Promise<number> {
  const [id] = cmd.processedArgs as [string];
  const o = cmd.opts();
  const s = await connect(cmd).write<DrainStatus>('DELETE', `/v1/regions/${id}/drain`, undefined, o);
  if (o.json) printJson(s);
  else process.stdout.write(s.dryRun ? drainLine(s, id) : `region ${id}: drain ended, ${describeDrain(s)} (config version ${s.version})\n`);
  return 0;
}
