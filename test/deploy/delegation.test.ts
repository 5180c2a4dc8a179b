/**
 * README "Delegating a zone to Meridian", followed once (issue 19). Network namespaces make the
 * hosts: a root name server and the parent zone's (example.com) server on NSD, two Meridian nodes on
 * port 53 in two other networks, and a client. The parent delegates gslb.example.com to the two
 * nodes with glue; the nodes run as an unprivileged user with CAP_NET_BIND_SERVICE as their only
 * capability (the guide's "port 53 without root"); then, as the guide checks a delegation:
 * `dig +trace` from the client walks root → example.com → Meridian and gets the service's answer,
 * and each node answers authoritatively with the same SOA serial and the NS set the parent holds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { REPO_ROOT } from '../helpers/dnsproc.js';
import { Lab, type LabProcess } from '../helpers/netns.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const ROOT_NS = '203.0.113.1';
const PARENT_NS = '203.0.113.2';
const NODES = { ns1: '198.51.100.53', ns2: '192.0.2.53' } as const;
const REGION_ADDRESS = '203.0.113.80';

const ROOT_ZONE = `. 86400 IN SOA a.root-servers.test. hostmaster.root-servers.test. 1 1800 900 604800 86400
. 86400 IN NS a.root-servers.test.
a.root-servers.test. 86400 IN A ${ROOT_NS}
example.com. 86400 IN NS ns.example.com.
ns.example.com. 86400 IN A ${PARENT_NS}
`;
// The guide's "at the parent": NS records for the delegated name, and glue for name servers inside it.
const PARENT_ZONE = `$ORIGIN example.com.
$TTL 3600
@        IN SOA ns.example.com. hostmaster.example.com. 2026120701 7200 3600 1209600 300
@        IN NS  ns
ns       IN A   ${PARENT_NS}
gslb     IN NS  ns1.gslb
gslb     IN NS  ns2.gslb
ns1.gslb IN A   ${NODES.ns1}
ns2.gslb IN A   ${NODES.ns2}
`;
const MERIDIAN_ZONE = `$ORIGIN gslb.example.com.
$TTL 300
@   3600 IN SOA ns1.gslb.example.com. hostmaster.example.com. 2026120701 7200 3600 1209600 300
@   3600 IN NS  ns1
@   3600 IN NS  ns2
ns1 3600 IN A   ${NODES.ns1}
ns2 3600 IN A   ${NODES.ns2}
`;

function nsdConf(dir: string, address: string, origin: string, file: string): string {
  return `server:
  ip-address: ${address}
  port: 53
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  zonelistfile: "${dir}/zone.list"
  xfrdfile: "${dir}/xfrd.state"
  xfrdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  server-count: 1
  do-ip6: no
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: "${origin}"
  zonefile: "${file}"
`;
}

function meridianConfig(address: string): string {
  return `dns:
  listen: ["${address}:53"]
zones:
  - origin: gslb.example.com
    file: gslb.example.com.zone
regions:
  - { id: eu-west, location: { lat: 53.35, lon: -6.26, continent: EU, country: IE }, addresses: { ipv4: [${REGION_ADDRESS}] } }
services:
  - { name: www.gslb.example.com, ttl: 30, regions: [eu-west], policy: { failover: [eu-west] } }
`;
}

/**
 * How the nodes drop root: as nobody when nobody can run this Node and read the checkout; else as
 * root with CAP_NET_BIND_SERVICE as the only capability left (CI's second Node lives under /root).
 */
function unprivileged(): { argv: string[]; who: string } {
  const caps = ['--inh-caps=-all,+net_bind_service', '--ambient-caps=-all,+net_bind_service', '--bounding-set=-all,+net_bind_service', '--no-new-privs'];
  const nobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...caps];
  const probe = spawnSync(nobody[0]!, [...nobody.slice(1), process.execPath, ...MERIDIAN_ENTRY, '--version'], { cwd: REPO_ROOT });
  if (probe.status === 0) return { argv: nobody, who: 'nobody (uid 65534)' };
  return { argv: ['setpriv', ...caps], who: 'root without any capability but CAP_NET_BIND_SERVICE' };
}

async function answers(lab: Lab, host: string, argv: string[], want: RegExp, what: string): Promise<string> {
  let out = '';
  for (let i = 0; i < 150; i++) {
    out = lab.run(host, argv, 10_000).out;
    if (want.test(out)) return out;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: no ${want} within 30 s\n${out}`);
}

it('the delegation guide, followed: a client walking from the root reaches Meridian through the parent', { timeout: 120_000 }, async (t) => {
  const missing = ['nsd', 'dig', 'setpriv'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
  if (missing.length || !Lab.available()) {
    const why = missing.length ? `missing ${missing.join(', ')}` : 'needs root to make network namespaces';
    if (process.env.CI) assert.fail(`the delegation test cannot run in CI: ${why}`);
    t.skip(why);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meridian-delegation-'));
  const lab = Lab.create('meridian', { parent: `${ROOT_NS}/24`, ns1: `${NODES.ns1}/24`, ns2: `${NODES.ns2}/24`, client: '198.18.0.10/24' });
  const procs: LabProcess[] = [];
  t.after(async () => {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Readable by the unprivileged nodes.
  chmodSync(dir, 0o755);
  lab.addAddress('parent', `${PARENT_NS}/24`);
  for (const [name, address, origin, zone] of [
    ['root', ROOT_NS, '.', ROOT_ZONE],
    ['parent', PARENT_NS, 'example.com', PARENT_ZONE],
  ] as const) {
    const d = join(dir, name);
    spawnSync('mkdir', ['-p', d]);
    writeFileSync(join(d, 'zone'), zone);
    writeFileSync(join(d, 'nsd.conf'), nsdConf(d, address, origin, 'zone'));
    procs.push(lab.spawn('parent', ['nsd', '-d', '-c', join(d, 'nsd.conf')]));
  }
  const { argv: drop, who } = unprivileged();
  t.diagnostic(`Meridian nodes run as ${who}`);
  for (const [host, address] of Object.entries(NODES)) {
    const d = join(dir, host);
    spawnSync('mkdir', ['-p', '-m', '0755', d]);
    writeFileSync(join(d, 'gslb.example.com.zone'), MERIDIAN_ZONE);
    writeFileSync(join(d, 'meridian.yaml'), meridianConfig(address));
    procs.push(lab.spawn(host, [...drop, process.execPath, ...MERIDIAN_ENTRY, 'serve', '--config', join(d, 'meridian.yaml')], { cwd: REPO_ROOT }));
  }
  const soa = /status: NOERROR[\s\S]*IN\s+SOA/;
  try {
    await answers(lab, 'client', ['dig', '+norec', '+time=1', '+tries=1', `@${ROOT_NS}`, '.', 'SOA'], soa, 'the root');
    await answers(lab, 'client', ['dig', '+norec', '+time=1', '+tries=1', `@${PARENT_NS}`, 'example.com', 'SOA'], soa, 'the parent');
    for (const [host, address] of Object.entries(NODES)) await answers(lab, 'client', ['dig', '+norec', '+time=1', '+tries=1', `@${address}`, 'gslb.example.com', 'SOA'], soa, `Meridian ${host}`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${procs.map((p) => p.output().slice(-2000)).join('\n---\n')}`, { cause: err });
  }

  // The guide's check, the walk from the root a resolver makes: `dig +norec` at each server,
  // following each referral by its glue (`dig +trace` looks the name servers up through the
  // system's resolver, which a private root has none of; on the internet it is the same walk).
  const walk = (first: string): { server: string; out: string }[] => {
    const hops: { server: string; out: string }[] = [];
    let server = first;
    for (let i = 0; i < 5; i++) {
      const out = lab.run('client', ['dig', '+norec', '+time=2', '+tries=2', `@${server}`, 'www.gslb.example.com', 'A']).out;
      hops.push({ server, out });
      if (/ANSWER: [1-9]/.test(out)) break;
      const ns = /^(\S+)\s+\d+\s+IN\s+NS\s+(\S+)$/m.exec(out)?.[2];
      const glue = ns ? new RegExp(`^${ns.replace(/\./g, '\\.')}\\s+\\d+\\s+IN\\s+A\\s+(\\S+)$`, 'm').exec(out)?.[1] : undefined;
      if (!glue) break;
      server = glue;
    }
    return hops;
  };
  const hops = walk(ROOT_NS);
  const shown = hops.map((h) => `@${h.server}\n${h.out}`).join('\n');
  assert.deepEqual(hops.map((h) => h.server).slice(0, 2), [ROOT_NS, PARENT_NS], `root, then the parent it refers to\n${shown}`);
  assert.match(hops[0]!.out, /AUTHORITY SECTION:\nexample\.com\.\s+\d+\s+IN\s+NS\s+ns\.example\.com\./, shown);
  assert.match(hops[1]!.out, /flags: qr;[\s\S]*AUTHORITY: 2[\s\S]*gslb\.example\.com\.\s+3600\s+IN\s+NS\s+ns[12]\.gslb\.example\.com\./, `the parent delegates, with glue\n${shown}`);
  const last = hops.at(-1)!;
  assert.ok(Object.values(NODES).includes(last.server as never), `the walk ends at a Meridian node\n${shown}`);
  assert.match(last.out, /flags: qr aa;/, shown);
  assert.match(last.out, new RegExp(`^www\\.gslb\\.example\\.com\\.\\s+30\\s+IN\\s+A\\s+${REGION_ADDRESS.replace(/\./g, '\\.')}$`, 'm'), `Meridian's answer, TTL 30\n${shown}`);

  // Both nodes: authoritative, the same serial, the NS set the parent delegates to.
  const serials = new Set<string>();
  for (const address of Object.values(NODES)) {
    const out = lab.run('client', ['dig', '+norec', '+time=1', '+tries=1', `@${address}`, 'gslb.example.com', 'SOA']).out;
    assert.match(out, /flags: qr aa;/, out);
    serials.add(/IN\s+SOA\s+\S+\s+\S+\s+(\d+)/.exec(out)![1]!);
    const ns = lab
      .run('client', ['dig', '+norec', '+short', `@${address}`, 'gslb.example.com', 'NS'])
      .out.trim()
      .split('\n')
      .sort();
    assert.deepEqual(ns, ['ns1.gslb.example.com.', 'ns2.gslb.example.com.']);
  }
  assert.deepEqual([...serials], ['2026120701']);
  const parentNs = lab.run('client', ['dig', '+norec', `@${PARENT_NS}`, 'gslb.example.com', 'NS']).out;
  assert.match(parentNs, /flags: qr;[\s\S]*AUTHORITY: 2/, `a referral (not authoritative) with the two NS\n${parentNs}`);
  assert.match(parentNs, new RegExp(`ns1\\.gslb\\.example\\.com\\.\\s+\\d+\\s+IN\\s+A\\s+${NODES.ns1.replace(/\./g, '\\.')}`), `with glue\n${parentNs}`);
});
