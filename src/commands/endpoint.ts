/**
 * `meridian endpoint list|add|remove`: a region's endpoints (the backends its probes check) through
 * a node's admin API (`/v1/regions/{id}/endpoints`). Adding is idempotent (the same endpoint twice
 * makes no second version); removing one the region does not have is MERIDIAN_ERR_NOT_FOUND.
 * @module
 */
import { isIP } from 'node:net';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { connect, printJson, readCommand, writeCommand } from './api.js';
import { act, matching, regionId, subcommand } from './define.js';
import { formatChange, type ChangeResult } from './render.js';
import { table } from './table.js';

interface Endpoint {
  id?: string;
  address: string;
  port: number;
  check?: Record<string, unknown>;
}

/** `ADDRESS:PORT` (`[v6]:port` for IPv6): the address a probe connects to. */
function addressPort(text: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : 0;
  if (!m || !isIP(m[1]!) || port < 1 || port > 65535) throw new InvalidArgumentError('expected ADDRESS:PORT with an IP address, e.g. 10.0.1.5:443 or [2001:db8::5]:443');
  return { address: m[1]!, port };
}

const endpointId = matching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/, 'an endpoint id (A-Z a-z 0-9 _ . : -, up to 63 characters)');

/** How `remove` names an endpoint: ADDRESS:PORT, else an id. */
function endpointRef(text: string): { address: string; port: number } | { id: string } {
  try {
    return addressPort(text);
  } catch {
    if (/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/.test(text)) return { id: text };
    throw new InvalidArgumentError('expected an endpoint id or ADDRESS:PORT');
  }
}

export function registerEndpoint(program: Command): void {
  const group = subcommand(program, {
    name: 'endpoint',
    summary: "list, add and remove a region's endpoints (the backends its probes check)",
    examples: ['meridian endpoint list eu-west', 'meridian endpoint add eu-west 10.0.1.5:443 --id web-5 --check https --path /healthz', 'meridian endpoint remove eu-west web-5'],
  });
  const list = readCommand(group, { name: 'list', summary: "a region's endpoints", examples: ['meridian endpoint list eu-west', 'meridian endpoint list eu-west --json'] }).argument(
    '<region>',
    'region id',
    regionId,
  );
  act(list, () => listEndpoints(list));
  const add = writeCommand(group, {
    name: 'add',
    summary: 'register an endpoint; one with this id (else this address:port) is replaced, check options included',
    examples: ['meridian endpoint add eu-west 10.0.1.5:443 --id web-5 --check https --path /healthz --reason "scale out"', 'meridian endpoint add us-east 192.0.2.20:53'],
  })
    .argument('<region>', 'region id', regionId)
    .argument('<address:port>', 'where probes connect: IP:PORT, [IPv6]:PORT', addressPort)
    .option('--id <id>', 'endpoint id (default: ADDRESS:PORT)', endpointId)
    .addOption(new Option('--check <type>', 'health check (default: the config’s health.probe defaults, tcp)').choices(['tcp', 'http', 'https']))
    .option('--path <path>', 'http(s) check: the path to GET (default /)')
    .option('--expect <codes>', 'http(s) check: status codes that mean up, comma-separated (default 2xx and 3xx)', statusCodes)
    .option('--host <name>', 'http(s) check: the Host header');
  act(add, () => addEndpoint(add));
  const remove = writeCommand(group, {
    name: 'remove',
    summary: 'deregister an endpoint by id or ADDRESS:PORT',
    examples: ['meridian endpoint remove eu-west web-5 --reason "scale in"', 'meridian endpoint remove eu-west 10.0.1.5:443'],
  })
    .argument('<region>', 'region id', regionId)
    .argument('<endpoint>', 'endpoint id, or ADDRESS:PORT', endpointRef);
  act(remove, () => removeEndpoint(remove));
}

async function listEndpoints(cmd: Command): Promise<number> {
  const [region] = cmd.processedArgs as [string];
  const { body } = await connect(cmd).get<Endpoint[]>(`/v1/regions/${region}/endpoints`);
  if (cmd.opts().json) printJson(body);
  else
    process.stdout.write(
      table(body, [
        { title: 'ENDPOINT', value: (e) => e.id ?? `${e.address}:${e.port}` },
        { title: 'ADDRESS', value: (e) => e.address },
        { title: 'PORT', value: (e) => e.port, right: true },
        { title: 'CHECK', value: (e) => checkText(e.check) },
      ]),
    );
  return 0;
}

function checkText(check: Record<string, unknown> | undefined): string {
  if (!check || !Object.keys(check).length) return 'default';
  const { type = 'tcp', ...rest } = check;
  const more = Object.entries(rest).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return [String(type), ...more].join(' ');
}

/** `--expect 200,204`: each an HTTP status code, else a usage error naming the one that is not. */
function statusCodes(text: string): number[] {
  return text.split(',').map((c) => {
    const code = c.trim();
    if (!/^[1-5]\d\d$/.test(code)) throw new InvalidArgumentError(`"${code}" is not an HTTP status code (100 to 599)`);
    return Number(code);
  });
}

/** The `check:` block the flags describe, or undefined for the config's defaults. */
function checkOf(o: { check?: string; path?: string; expect?: number[]; host?: string }): Record<string, unknown> | undefined {
  const check: Record<string, unknown> = {};
  if (o.check) check.type = o.check;
  if (o.path !== undefined) check.path = o.path;
  if (o.host !== undefined) check.host = o.host;
  if (o.expect !== undefined) check.expect = o.expect;
  return Object.keys(check).length ? check : undefined;
}

async function addEndpoint(cmd: Command): Promise<number> {
  const [region, at] = cmd.processedArgs as [string, { address: string; port: number }];
  const o = cmd.opts();
  const check = checkOf(o);
  const body: Endpoint = { ...(o.id ? { id: o.id as string } : {}), address: at.address, port: at.port, ...(check ? { check } : {}) };
  const r = await connect(cmd).write<ChangeResult>('POST', `/v1/regions/${region}/endpoints`, body, o);
  // The API replaces an endpoint with the same id (else address:port): say so, the diff shows what changed.
  const added = r.diff.some((d) => d.op === 'add' && /\/endpoints\/\d+$/.test(d.path));
  const what = added || r.unchanged ? 'registered' : 'updated (replaced: check options not given are dropped)';
  if (o.json) printJson(r);
  else process.stdout.write(formatChange(r, `endpoint ${region}/${o.id ?? `${at.address}:${at.port}`} ${what}`));
  return 0;
}

async function removeEndpoint(cmd: Command): Promise<number> {
  const [region, ref] = cmd.processedArgs as [string, ReturnType<typeof endpointRef>];
  const o = cmd.opts();
  // ADDRESS:PORT also removes an endpoint with an id at that address; an id is matched as written.
  const query = new URLSearchParams('id' in ref ? { id: ref.id } : { address: ref.address, port: String(ref.port) });
  const name = (cmd.args[1] ?? '') as string;
  const r = await connect(cmd).write<ChangeResult>('DELETE', `/v1/regions/${region}/endpoints?${query}`, undefined, o);
  if (o.json) printJson(r);
  else process.stdout.write(formatChange(r, `endpoint ${region}/${name} removed`));
  return 0;
}
