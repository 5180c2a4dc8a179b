/**
 * `meridian status`: what one node serves and every region's live health as that node sees it
 * (`GET /v1/status` and `GET /v1/health`): the verdict its answers act on, what decided it (probes,
 * an override, the configured state), and each live vantage's vote for each endpoint.
 * @module
 */
import type { Command } from 'commander';
import type { EndpointHealth, HealthReport, OverrideView, RegionHealth } from '../admin/health-report.js';
import { connect, printJson, readCommand } from './api.js';
import { act } from './define.js';
import { colourOn, fields, paint, shortTime, stateColour, table } from './table.js';

interface NodeStatus {
  store: string;
  storeReachable: boolean;
  head: number | null;
  applied: number;
}

export function registerStatus(program: Command): void {
  const cmd = readCommand(program, {
    name: 'status',
    summary: "a node's config version and every region's live health, with the vantages' votes",
    examples: ['meridian status', 'meridian status --api https://dns1.example.net:8053', 'meridian status --json | jq ".health.regions[] | {id, state}"'],
  });
  act(cmd, () => status(cmd));
}

async function status(cmd: Command): Promise<number> {
  const api = connect(cmd);
  const { body: node } = await api.get<NodeStatus>('/v1/status');
  const { body: health } = await api.get<HealthReport>('/v1/health');
  if (cmd.opts().json) {
    printJson({ api: api.target.base, status: node, health });
    return 0;
  }
  const on = colourOn();
  const store = node.storeReachable ? `${node.store} store, head version ${node.head}` : paint(`${node.store} store UNREACHABLE (answering from the last version applied)`, 'red', on);
  const behind = node.head !== null && node.head > node.applied ? paint(` (behind the store by ${node.head - node.applied})`, 'yellow', on) : '';
  process.stdout.write(
    fields([
      ['node', api.target.base],
      ['config', `answers from version ${node.applied}${behind}; ${store}`],
      [
        'vantages',
        health.vantages.length
          ? `${health.vantages.length} live: ${health.vantages.map((v) => v.vantage + (v.region ? ` (${v.region})` : '')).join(', ')}`
          : paint('none live (endpoints take health.coldStart)', 'yellow', on),
      ],
    ]) + '\n',
  );
  process.stdout.write(regionTable(health.regions, on));
  const endpoints = health.regions.flatMap((r) => r.endpoints.map((e) => ({ region: r.id, ...e })));
  if (endpoints.length) process.stdout.write('\n' + endpointTable(endpoints, on));
  return 0;
}

const override = (o: OverrideView | null): string => (o ? `${o.state} by ${o.author}${o.expiresAt ? ` until ${shortTime(o.expiresAt)}` : ''}: ${o.reason}` : '');

function regionTable(regions: RegionHealth[], on: boolean): string {
  return table(
    regions,
    [
      { title: 'REGION', value: (r) => r.id },
      { title: 'HEALTH', value: (r) => r.state, paint: (r) => stateColour(r.state) },
      { title: 'DECIDED BY', value: (r) => r.source },
      { title: 'ENDPOINTS UP', value: (r) => `${r.endpointsUp}/${r.endpointsCounted}`, right: true },
      { title: 'OVERRIDE', value: (r) => override(r.override) },
    ],
    on,
  );
}

/** A vote in a few characters: `probe-1: up 3ms`, `probe-2: down (ECONNREFUSED)`. */
const vote = (v: EndpointHealth['votes'][number]): string => `${v.vantage}: ${v.status}${v.status === 'up' && v.rttMs !== null ? ` ${Math.round(v.rttMs)}ms` : ''}${v.error ? ` (${v.error})` : ''}`;

function endpointTable(rows: (EndpointHealth & { region: string })[], on: boolean): string {
  return table(
    rows,
    [
      { title: 'ENDPOINT', value: (e) => `${e.region}/${e.id}` },
      { title: 'HEALTH', value: (e) => e.state, paint: (e) => stateColour(e.state) },
      { title: 'DECIDED BY', value: (e) => (e.source === 'cold' ? 'cold start (no vantage reports it)' : e.source) },
      { title: 'VOTES UP/DOWN', value: (e) => `${e.up}/${e.down} of ${e.live}`, right: true },
      { title: 'VANTAGES', value: (e) => [override(e.override) && `override ${override(e.override)}`, ...e.votes.map(vote)].filter(Boolean).join('; ') },
    ],
    on,
  );
}
