/**
 * `meridian versions`, `meridian diff N [M]`, `meridian rollback N`: the config's history through a
 * node's admin API (`/v1/versions`, `/v1/rollback/{n}`). A rollback is a new version whose config is
 * version N's; it is guarded by the head version the command read (or `--if-match`), so a change
 * someone made meanwhile is never undone unseen.
 * @module
 */
import type { Command } from 'commander';
import { diffDocuments } from '../store/diff.js';
import type { VersionMeta, VersionRecord } from '../store/types.js';
import { connect, printJson, readCommand, writeCommand } from './api.js';
import { act, integer, versionNumber } from './define.js';
import { formatChange, formatDiff, type ChangeResult, type DiffEntry } from './render.js';
import { shortTime, table } from './table.js';

export function registerVersions(program: Command): void {
  const versions = readCommand(program, {
    name: 'versions',
    summary: 'config versions, newest first: who changed what, when and why',
    examples: ['meridian versions', 'meridian versions --limit 5 --json', 'meridian versions --before 40'],
  })
    .option('--limit <n>', 'how many (1-1000)', integer(1, 1000), 20)
    .option('--before <version>', 'only versions older than this one (paging)', versionNumber);
  act(versions, () => listVersions(versions));
  const diff = readCommand(program, {
    name: 'diff',
    summary: 'what changed from config version N to version M (default: the current one)',
    examples: ['meridian diff 12 14', 'meridian diff 12', 'meridian diff 12 14 --json'],
  })
    .argument('<from>', 'the older version', versionNumber)
    .argument('[to]', 'the newer version (default: the current one)', versionNumber);
  act(diff, () => diffVersions(diff));
  const rollback = writeCommand(program, {
    name: 'rollback',
    summary: "make version N's config current again, as a new version (needs an admin token)",
    description:
      "Make version N's zones, regions and services current again, as a new version (history only grows).\n" +
      'Guarded: the rollback is refused (MERIDIAN_ERR_PRECONDITION_FAILED) if the config moved past the version it read, or past --if-match.',
    examples: ['meridian rollback 12 --reason "weight change broke eu"', 'meridian rollback 12 --dry-run', 'meridian rollback 12 --if-match 15'],
  }).argument('<version>', 'the version to go back to', versionNumber);
  act(rollback, () => rollbackTo(rollback));
}

async function listVersions(cmd: Command): Promise<number> {
  const o = cmd.opts();
  const query = new URLSearchParams({ limit: String(o.limit), ...(o.before !== undefined ? { before: String(o.before) } : {}) });
  const { body } = await connect(cmd).get<VersionMeta[]>(`/v1/versions?${query}`);
  if (o.json) printJson(body);
  else
    process.stdout.write(
      table(body, [
        { title: 'VERSION', value: (v) => v.version, right: true },
        { title: 'TIME', value: (v) => shortTime(v.time) },
        { title: 'AUTHOR', value: (v) => v.author },
        { title: 'ACTION', value: (v) => v.action },
        { title: 'TARGET', value: (v) => v.target },
        { title: 'REASON', value: (v) => v.reason },
      ]),
    );
  return 0;
}

async function diffVersions(cmd: Command): Promise<number> {
  const [from, to] = cmd.processedArgs as [number, number | undefined];
  const api = connect(cmd);
  const before = (await api.get<VersionRecord>(`/v1/versions/${from}`)).body;
  const after = to !== undefined ? (await api.get<VersionRecord>(`/v1/versions/${to}`)).body : await current(api);
  // The documents, compared as the store compares them (lists by identity, RFC 6901 paths).
  const entries = diffDocuments(before.document, after.document) as DiffEntry[];
  if (cmd.opts().json) printJson({ from: before.version, to: after.version, diff: entries });
  else process.stdout.write(`config version ${before.version} -> ${after.version}:\n${formatDiff(entries)}`);
  return 0;
}

async function current(api: ReturnType<typeof connect>): Promise<{ version: number; document: unknown }> {
  return (await api.get<{ version: number; document: unknown }>('/v1/config')).body;
}

async function rollbackTo(cmd: Command): Promise<number> {
  const [n] = cmd.processedArgs as [number];
  const o = cmd.opts();
  const api = connect(cmd);
  // The guard: the head this command saw, unless the operator named the one they reviewed.
  const ifMatch = (o.ifMatch as number | undefined) ?? (await current(api)).version;
  const r = await api.write<ChangeResult>('POST', `/v1/rollback/${n}`, undefined, { ...o, ifMatch });
  if (o.json) printJson(r);
  else process.stdout.write(formatChange(r, `rollback to version ${n}`));
  return 0;
}
