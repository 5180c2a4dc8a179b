/**
 * Config as code: `meridian apply FILE` sends a YAML config's zones, regions and services to a
 * node's admin API as one change (`PUT /v1/config`), guarded by the version it was compared with;
 * `meridian export` writes a version back as a YAML that `apply` accepts (zones with their records
 * inline). Process settings (dns, admin, health …) are never sent: they stay in each node's YAML.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Command } from 'commander';
import { connect, printJson, readCommand, writeCommand } from './api.js';
import { act, Failure, versionNumber } from './define.js';
import { formatChange, type ChangeResult } from './render.js';
import { formatRecordChanges, recordChanges, type ZoneRecords } from './record-changes.js';

export function registerApply(program: Command): void {
  const apply = writeCommand(program, {
    name: 'apply',
    summary: "make a YAML config's zones, regions and services the node's config, as one version",
    description:
      "Send FILE's zones, regions and services (process settings such as dns: or admin: are not sent) to the node's\n" +
      'admin API as one change: validated there (a bad file changes nothing), compared with the current version and\n' +
      'committed as one version with --reason. Guarded: refused (MERIDIAN_ERR_PRECONDITION_FAILED) if the config moved\n' +
      'past the version it was compared with, or past --if-match (the version a --dry-run showed).',
    examples: [
      'meridian apply meridian.yaml --dry-run',
      'meridian apply meridian.yaml --reason "eu-west gets the new rack" --if-match 12',
      'meridian export -o live.yaml && meridian apply live.yaml --dry-run',
    ],
  }).argument('<file>', 'the YAML config (zones with file: or inline records:, regions, services)');
  act(apply, () => applyFile(apply));
  const exp = readCommand(program, {
    name: 'export',
    summary: 'write the current (or a given) config version as a YAML that apply accepts',
    description: 'Write the zones (records inline), regions and services of the current version, or of --version N,\nas YAML (to stdout, or to --output FILE); --json prints them as JSON instead.',
    examples: ['meridian export > live.yaml', 'meridian export --version 12 -o v12.yaml', 'meridian export --api https://ns1.example.net:8053 -o ns1.yaml'],
  })
    .option('--version <n>', 'this version instead of the current one', versionNumber)
    .option('-o, --output <file>', 'write the YAML to this file instead of stdout');
  act(exp, () => exportVersion(exp));
}

async function applyFile(cmd: Command): Promise<number> {
  const [file] = cmd.processedArgs as [string];
  const o = cmd.opts();
  const { readDocumentFile } = await import('../node/config.js');
  const read = readDocumentFile(file);
  if (!read.ok) {
    const { formatSourceError } = await import('../config/source-error.js');
    for (const e of read.errors) process.stderr.write(formatSourceError(e) + '\n');
    throw new Failure('MERIDIAN_ERR_INVALID_CONFIG', `${read.errors.length} problem(s) in ${file}; nothing was sent`);
  }
  const api = connect(cmd);
  const current = (await api.get<VersionBody>('/v1/config')).body;
  refuseOmittedSections(file, current.document);
  // The guard: the version the change is compared with, unless the operator names the one they reviewed.
  const ifMatch = (o.ifMatch as number | undefined) ?? current.version;
  const r = await api.write<ChangeResult>('PUT', '/v1/config', read.document, { ...o, ifMatch });
  // The node compares service answers; the zones' own records are compared here, from both documents.
  const records = r.dryRun ? recordChanges(current.document.zones, read.document.zones) : [];
  if (o.json) printJson(r.dryRun ? { ...r, records } : r);
  else process.stdout.write(formatChange(r, `apply ${file}`) + formatRecordChanges(records));
  return 0;
}

interface VersionBody {
  version: number;
  document: { zones: ZoneRecords[]; regions: Record<string, unknown>[]; services: unknown[] };
}

/**
 * apply replaces the whole config, so a file without `regions:` or `services:` would delete every
 * one the node has (a file cut short, the wrong file). As octoDNS guards whole-replace deletions,
 * a section the current version has must be written, `services: []` to mean none.
 */
function refuseOmittedSections(file: string, current: VersionBody['document']): void {
  const doc = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
  const omitted = (['zones', 'regions', 'services'] as const).filter((k) => current[k].length > 0 && (doc === null || typeof doc !== 'object' || !(k in doc)));
  if (omitted.length)
    throw new Failure(
      'MERIDIAN_ERR_SECTION_OMITTED',
      `${file} has no ${omitted.map((k) => `${k}:`).join(' or ')}, which would delete every one of the ${omitted.map((k) => `${current[k].length} ${k}`).join(' and ')} the node has; write ${omitted.map((k) => `${k}: []`).join(' / ')} to mean that. Nothing was sent`,
    );
}

async function exportVersion(cmd: Command): Promise<number> {
  const o = cmd.opts();
  const api = connect(cmd);
  const { body } = await api.get<VersionBody>(o.version !== undefined ? `/v1/versions/${o.version}` : '/v1/config');
  // A drain in progress is the node's state, not config: apply keeps it as it is.
  const doc = { zones: body.document.zones, regions: body.document.regions.map(({ drain: _drain, ...r }) => r), services: body.document.services };
  const text = o.json ? JSON.stringify(doc, null, 2) + '\n' : await toYaml(doc, `meridian export: config version ${body.version} of ${api.target.base}`);
  if (o.output) writeOutput(o.output as string, text);
  else process.stdout.write(text);
  if (o.output) process.stderr.write(`export: config version ${body.version} written to ${o.output as string}\n`);
  return 0;
}

/** `-o FILE`: a path that cannot be written (no such directory, a directory, no permission) is one coded line. */
function writeOutput(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    throw new Failure('MERIDIAN_ERR_CANNOT_WRITE', `cannot write ${path}: ${code ?? message}`);
  }
}

/** YAML with each zone record on one line (`{ name: www, ttl: 300, type: A, data: 192.0.2.1 }`). */
async function toYaml(doc: VersionBody['document'], comment: string): Promise<string> {
  const { Document, isMap, isSeq } = await import('yaml');
  const yaml = new Document(doc);
  yaml.commentBefore = ` ${comment}`;
  doc.zones.forEach((_z, i) => {
    const records = yaml.getIn(['zones', i, 'records'], true);
    if (isSeq(records)) for (const r of records.items) if (isMap(r)) r.flow = true;
  });
  return yaml.toString({ lineWidth: 0 });
}
