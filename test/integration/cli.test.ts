/**
 * The `meridian` program as an operator runs it: `check` reports file:line problems and its exit
 * code, `serve` refuses a bad config at startup, and SIGHUP swaps in good data and rejects bad.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode, query, udpExchange } from '../helpers/client.js';
import { cli } from '../helpers/cli.js';
import { FIXTURE_ZONE } from '../helpers/server.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const ROOT = new URL('../..', import.meta.url).pathname;

async function meridian(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await cli(args, { cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempConfig(yaml: string, zone = readFileSync(FIXTURE_ZONE, 'utf8')): { dir: string; config: string; zone: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-cli-'));
  writeFileSync(join(dir, 'zone'), zone);
  writeFileSync(join(dir, 'meridian.yaml'), yaml);
  return { dir, config: join(dir, 'meridian.yaml'), zone: join(dir, 'zone') };
}

const GOOD = `dns:
  listen: ["127.0.0.1:0"]
zones:
  - origin: gslb.example.com
    file: zone
`;

describe('meridian check', () => {
  test('the demo config is valid', async () => {
    const r = await meridian(['check', '--config', 'zones/meridian.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /zone gslb\.example\.com\.: \d+ names/);
  });

  const bad: { name: string; yaml: string; zone?: string; want: RegExp[] }[] = [
    {
      name: 'unknown key and bad value, each with its line',
      yaml: `dns:\n  listen: ["127.0.0.1:0"]\n  udpSize: 100\n  colour: blue\nzones:\n  - origin: gslb.example.com\n    file: zone\n`,
      want: [/meridian\.yaml:3: \/dns\/udpSize: must be at least 512/, /meridian\.yaml:4: \/dns\/colour: unknown key "colour"/],
    },
    {
      name: 'listen address that is not an IP',
      yaml: `dns:\n  listen: ["localhost:53"]\nzones:\n  - origin: gslb.example.com\n    file: zone\n`,
      want: [/meridian\.yaml:2: listen host "localhost" is not an IP address/],
    },
    {
      name: 'YAML syntax error',
      yaml: `dns:\n  listen: [\nzones: x\n`,
      want: [/meridian\.yaml:3:1: YAML syntax error: /],
    },
    {
      name: 'missing zone file',
      yaml: GOOD.replace('file: zone', 'file: nowhere.zone'),
      want: [/meridian\.yaml:4: cannot read zone file .*nowhere\.zone: ENOENT/],
    },
    {
      name: 'bad records are reported at their zone-file lines',
      yaml: GOOD,
      zone: readFileSync(FIXTURE_ZONE, 'utf8') + 'bad1 IN A 300.1.2.3\nbad2 IN MX x mail\n',
      want: [/zone:\d+: bad IPv4 address "300\.1\.2\.3"/, /zone:\d+: .*MX/],
    },
  ];
  const REGION = `regions:
  - id: eu-west
    location: { lat: 53.3, lon: -6.2, continent: EU, country: IE }
    addresses: { ipv4: [198.51.100.10] }
`;
  bad.push(
    {
      name: 'service naming an unknown region, at the line of the reference',
      yaml: `${GOOD}${REGION}services:
  - name: svc.gslb.example.com
    regions: [eu-west, mars-1]
`,
      want: [/meridian\.yaml:12: service svc\.gslb\.example\.com\.: unknown region "mars-1"/],
    },
    {
      name: 'region with a bad address and an unknown continent',
      yaml: `${GOOD}regions:
  - id: eu-west
    location: { lat: 53.3, lon: -6.2, continent: XX, country: IE }
    addresses: { ipv4: [300.1.1.1] }
`,
      want: [/meridian\.yaml:\d+: \/regions\/0\/location\/continent: /],
    },
    {
      name: 'region address that is not IPv4',
      yaml: `${GOOD}regions:
  - id: eu-west
    location: { lat: 53.3, lon: -6.2, continent: EU, country: IE }
    addresses: { ipv4: ["2001:db8::1"] }
`,
      want: [/meridian\.yaml:\d+: region eu-west: "2001:db8::1" is not an IPv4 address/],
    },
    {
      name: 'service outside every zone',
      yaml: `${GOOD}${REGION}services:
  - name: www.example.org
    regions: [eu-west]
`,
      want: [/service www\.example\.org\. is not inside any configured zone/],
    },
    {
      name: 'service whose name also has A records in the zone',
      yaml: `${GOOD}${REGION}services:
  - name: www.gslb.example.com
    regions: [eu-west]
`,
      want: [/service www\.gslb\.example\.com\. also has A\/AAAA records/],
    },
    {
      name: 'bad policy config, at the policy line',
      yaml: `${GOOD}${REGION}services:
  - name: svc.gslb.example.com
    regions: [eu-west]
    policy:
      geo: { continents: { XX: [eu-west] } }
`,
      want: [/meridian\.yaml:14: service svc\.gslb\.example\.com\.: geo\.continents: "XX" is not a continent code/],
    },
    {
      name: 'two policies of one phase',
      yaml: `${GOOD}${REGION}services:
  - name: svc.gslb.example.com
    regions: [eu-west]
    policy: { weighted: {}, sticky: {} }
`,
      want: [/weighted and sticky cannot be combined/],
    },
  );
  for (const c of bad) {
    test(c.name, async () => {
      const t = tempConfig(c.yaml, c.zone);
      try {
        const r = await meridian(['check', '--config', t.config]);
        assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
        for (const w of c.want) assert.match(r.stderr, w);
      } finally {
        rmSync(t.dir, { recursive: true });
      }
    });
  }

  test('check --zone validates a single file', async () => {
    assert.equal((await meridian(['check', '--zone', 'zones/gslb.example.com.zone', '--origin', 'gslb.example.com'])).code, 0);
    const r = await meridian(['check', '--zone', 'zones/gslb.example.com.zone', '--origin', 'other.example']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gslb\.example\.com\.zone:\d+: /);
  });

  test('unknown subcommand exits 2 with usage', async () => {
    const r = await meridian(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage:/);
  });

  test('an unknown MERIDIAN_LOG_FORMAT is one coded usage line, exit 2', async () => {
    const r = await cli(['serve'], { cwd: ROOT, env: { MERIDIAN_LOG_FORMAT: 'yaml' } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^serve: MERIDIAN_ERR_USAGE: MERIDIAN_LOG_FORMAT is "yaml": expected json or pretty\n/);
  });

  test('a config that cannot be read is named without a line number', async () => {
    const r = await meridian(['check', '--config', '/nonexistent/meridian.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^\/nonexistent\/meridian\.yaml: cannot read config: ENOENT\n/);
  });

  test('explain --ecs that is not a prefix is a usage error (exit 2); a non-Meridian HTTP server is API_UNEXPECTED naming it', async () => {
    const other = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n'));
    await new Promise<void>((done) => other.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const [ecs, status] = await Promise.all([
        cli(['explain', 'www.gslb.example.com', '192.0.2.1', '--ecs', '1.2.3.0/99'], { cwd: ROOT }),
        cli(['status'], { cwd: ROOT, env: { MERIDIAN_API: url, MERIDIAN_TOKEN: 'x' } }),
      ]);
      assert.equal(ecs.status, 2, ecs.stderr);
      assert.match(ecs.stderr, /^explain: MERIDIAN_ERR_USAGE: option '--ecs <prefix>' argument '1\.2\.3\.0\/99' is invalid\. prefix length must be 0-32\nUsage: /);
      assert.deepEqual(
        [status.status, status.stderr],
        [1, `status: MERIDIAN_ERR_API_UNEXPECTED: ${url} answered HTTP 404 without a Meridian error: is a Meridian admin API there? (--api URL or MERIDIAN_API names the node)\n`],
      );
    } finally {
      other.close();
    }
  });

  test('an unknown MERIDIAN_LOG_LEVEL is one coded usage line naming the levels, exit 2, for every role', async () => {
    const roles = [['serve'], ['probe', '--region', 'eu-west'], ['forward', '--region', 'eu-west'], ['status', '--api', 'http://127.0.0.1:1']];
    const runs = await Promise.all(roles.map((args) => cli(args, { cwd: ROOT, env: { MERIDIAN_LOG_LEVEL: 'verbose' } })));
    runs.forEach((r, i) => {
      assert.equal(r.status, 2, `${roles[i]![0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^${roles[i]![0]}: MERIDIAN_ERR_USAGE: MERIDIAN_LOG_LEVEL is "verbose": expected one of trace, debug, info, warn, error, fatal, silent\n`));
      assert.doesNotMatch(r.stderr, /fatal:|\n\s+at /, 'no stack trace');
    });
  });
});

describe('meridian serve', () => {
  test('a bad zone at startup stops the process with file:line', async () => {
    const t = tempConfig(GOOD, 'this is not a zone\n');
    try {
      const r = await meridian(['serve', '--config', t.config]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /zone:1: /);
    } finally {
      rmSync(t.dir, { recursive: true });
    }
  });

  describe('SIGHUP reload', () => {
    let proc: ChildProcess;
    let port = 0;
    let t: ReturnType<typeof tempConfig>;
    let output = '';
    before(async () => {
      t = tempConfig(GOOD);
      proc = spawn(process.execPath, [...MERIDIAN_ENTRY, 'serve', '--config', t.config], { cwd: ROOT });
      proc.stderr!.on('data', (d) => (output += d));
      port = await new Promise<number>((resolve, reject) => {
        let buf = '';
        proc.stdout!.on('data', (d: Buffer) => {
          buf += d;
          output += d;
          const m = /"msg":"ready"/.test(buf) && /"listen":\["127\.0\.0\.1:(\d+)"/.exec(buf);
          if (m) resolve(Number(m[1]));
        });
        proc.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      });
    });
    after(() => {
      proc.kill('SIGTERM');
      rmSync(t.dir, { recursive: true });
    });

    const ask = async (name: string) => decode((await udpExchange(port, query(name, 'A')))!);
    const waitFor = async (pred: () => Promise<boolean>) => {
      for (let i = 0; i < 50; i++) {
        if (await pred()) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };

    test('good data is swapped in', async () => {
      assert.equal((await ask('fresh.gslb.example.com')).rcode, 'NXDOMAIN');
      writeFileSync(t.zone, readFileSync(FIXTURE_ZONE, 'utf8') + 'fresh IN A 192.0.2.77\n');
      proc.kill('SIGHUP');
      assert.ok(await waitFor(async () => (await ask('fresh.gslb.example.com')).rcode === 'NOERROR'), 'new record never appeared');
    });

    test('bad data is rejected, logged, and the running data keeps answering', async () => {
      copyFileSync(t.zone, t.zone + '.good');
      writeFileSync(t.zone, readFileSync(t.zone + '.good', 'utf8') + 'broken IN AAAA not-an-address\n');
      proc.kill('SIGHUP');
      assert.ok(await waitFor(async () => output.includes('reload rejected')), 'rejection not logged');
      assert.match(output, /zone:\d+: bad IPv6 address/);
      const r = await ask('fresh.gslb.example.com');
      assert.equal(r.rcode, 'NOERROR');
      assert.equal(r.answers![0]!.data, '192.0.2.77');
    });
  });
});
