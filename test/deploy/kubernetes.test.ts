/**
 * deploy/kubernetes/ validated offline (issue 19): every manifest against the Kubernetes OpenAPI
 * schemas as the `kubernetes-models` package compiles them (pinned; no download at test time), then
 * against each other and the config they mount: Services select pods that have the ports they
 * target, PodDisruptionBudgets select a Deployment, every ConfigMap and Secret a pod names exists,
 * probes hit /healthz and /readyz on the role's metrics port, one probe and one forwarder
 * Deployment per configured region, and the ConfigMap's config passes the real `meridian check`
 * with the Secret's certificate in place.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { REPO_ROOT } from '../helpers/dnsproc.js';
import { makeCert } from '../helpers/cert.js';
import { unknownFields } from './k8s-fields.js';
import { MERIDIAN_ENTRY } from '../helpers/meridian-bin.js';

const DIR = join(REPO_ROOT, 'deploy/kubernetes');

interface Validating {
  validate(): void;
}
const MODELS: Record<string, new (data: never) => Validating> = {
  'apps/v1/Deployment': Deployment,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Doc {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

const docs: Doc[] = [...readdirSync(DIR).map((f) => join(DIR, f)), ...readdirSync(join(DIR, 'examples')).map((f) => join(DIR, 'examples', f))]
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], file);
      return { ...(d.toJS() as object), file: file.slice(REPO_ROOT.length + 1) } as Doc;
    }),
  );
const ofKind = <T>(kind: string): (T & Doc)[] => docs.filter((d) => d.kind === kind) as (T & Doc)[];
const deployments = ofKind<IDeployment>('Deployment');
const configMap = ofKind<{ data: Record<string, string> }>('ConfigMap').find((c) => c.metadata.name === 'meridian-config')!;
const config = parse(configMap.data['meridian.yaml']!) as { dns: { listen: string[] }; regions: { id: string; forwarder: { relay: string } }[]; forward: { listeners: { listen: string }[] } };
const port = (hostPort: string): number => Number(hostPort.split(':').at(-1));
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
const containers = (d: IDeployment) => d.spec!.template.spec!.containers;
const role = (d: IDeployment): string => containers(d)[0]!.args![0]!;

describe('Kubernetes manifests', () => {
  it('every manifest is valid against the Kubernetes OpenAPI schema', () => {
    assert.ok(docs.length >= 12, `${docs.length} documents`);
    for (const d of docs) {
      const Model = MODELS[`${d.apiVersion}/${d.kind}`];
      assert.ok(Model, `${d.file}: ${d.apiVersion} ${d.kind} is a kind this test validates`);
      const { file: _file, ...manifest } = d;
      assert.doesNotThrow(() => new Model(manifest as never).validate(), `${d.file}: ${d.kind} ${d.metadata.name}`);
    }
  });

  it('the schemas catch what they should: a container without a name, a missing selector, a probe port or replica count of the wrong type', () => {
    const dns = deployments.find((d) => d.metadata.name === 'meridian-dns')!;
    const { file: _file, ...good } = structuredClone(dns);
    const broken = [
      (d: IDeployment) => void delete (containers(d)[0] as { name?: string }).name,
      (d: IDeployment) => void delete (d.spec as Partial<IDeployment['spec'] & object>).selector,
      (d: IDeployment) => void ((containers(d)[0]!.readinessProbe!.httpGet as { port: unknown }).port = { name: 'metrics' }),
      (d: IDeployment) => void ((d.spec as { replicas: unknown }).replicas = 'two'),
    ];
    for (const breakIt of broken) {
      const d = structuredClone(good) as IDeployment;
      breakIt(d);
      assert.throws(() => new Deployment(d).validate(), `${breakIt.toString()} is refused`);
    }
  });

  it('no manifest has a field its kind lacks (the schemas leave objects open; TypeScript closes them)', () => {
    const manifests = docs.map(({ file, ...body }) => ({ name: `${file}: ${body.kind} ${body.metadata.name}`, kind: `${body.apiVersion}/${body.kind}`, body }));
    // One more, with a misspelt field deep inside: the check must name it, and nothing else.
    const typo = structuredClone(manifests.find((m) => m.name.endsWith('Deployment meridian-dns'))!);
    const container = (typo.body as unknown as IDeployment).spec!.template.spec!.containers[0]! as unknown as Record<string, unknown>;
    container.readinesProbe = container.readinessProbe;
    typo.name = 'the misspelt copy';
    const found = unknownFields([...manifests, typo]);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0]!, /^the misspelt copy: .*readinesProbe.* does not exist in type 'IContainer'/);
  });

  it('every namespaced object is in namespace meridian, which the manifests create', () => {
    assert.ok(docs.some((d) => d.kind === 'Namespace' && d.metadata.name === 'meridian'));
    for (const d of docs.filter((x) => x.kind !== 'Namespace')) assert.equal(d.metadata.namespace, 'meridian', `${d.file}: ${d.kind} ${d.metadata.name}`);
  });

  it('DNS nodes: two or more, port 53 over UDP and TCP to the listen port of the config, the client address kept', () => {
    const dns = deployments.filter((d) => role(d) === 'serve');
    assert.equal(dns.length, 1);
    assert.ok(dns[0]!.spec!.replicas! >= 2);
    const svc = ofKind<IService>('Service').find((s) => s.metadata.name === 'meridian-dns')!;
    assert.equal(svc.spec!.externalTrafficPolicy, 'Local');
    assert.deepEqual(svc.spec!.ports!.map((p) => `${p.port}/${p.protocol}`).sort(), ['53/TCP', '53/UDP']);
    const listen = port(config.dns.listen[0]!);
    for (const p of containers(dns[0]!)[0]!.ports!.filter((x) => x.name!.startsWith('dns-'))) assert.equal(p.containerPort, listen, `${p.name} is dns.listen's port`);
  });

  it('one probe and one forwarder Deployment per region of the config; forwarders on its listener and relay ports', () => {
    const regions = config.regions.map((r) => r.id);
    for (const r of ['probe', 'forward']) {
      const ds = deployments.filter((d) => role(d) === r);
      const args = ds.map((d) => containers(d)[0]!.args!);
      assert.deepEqual(
        args.map((a) => a[a.indexOf('--region') + 1]),
        regions,
        r,
      );
      for (const a of args) assert.equal(a[a.indexOf('--config') + 1], '/etc/meridian/meridian.yaml');
    }
    for (const d of deployments.filter((x) => role(x) === 'forward')) {
      const ports = Object.fromEntries(containers(d)[0]!.ports!.map((p) => [p.name, p.containerPort]));
      assert.equal(ports.web, port(config.forward.listeners[0]!.listen), d.metadata.name);
      assert.equal(ports.relay, port(config.regions[0]!.forwarder.relay), d.metadata.name);
    }
  });

  it('liveness on /healthz and readiness on /readyz, on the port the role serves metrics on', () => {
    for (const d of deployments) {
      const c = containers(d)[0]!;
      const metricsPort = c.ports!.find((p) => p.name === 'metrics')!.containerPort;
      const flag = c.args!.indexOf('--metrics');
      const expected = flag >= 0 ? port(c.args![flag + 1]!) : port((parse(configMap.data['meridian.yaml']!) as { metrics: { listen: string } }).metrics.listen);
      assert.equal(metricsPort, expected, `${d.metadata.name}: the metrics port`);
      assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'metrics' }, d.metadata.name);
      assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'metrics' }, d.metadata.name);
    }
  });

  it('every pod: resources, non-root, read-only root, no capability, no service account token', () => {
    for (const d of deployments) {
      const pod = d.spec!.template.spec!;
      assert.equal(pod.automountServiceAccountToken, false, d.metadata.name);
      assert.equal(pod.securityContext?.runAsNonRoot, true, d.metadata.name);
      assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', d.metadata.name);
      for (const c of pod.containers) {
        assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, `${d.metadata.name}: requests and limits`);
        assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } }, d.metadata.name);
        // Nothing writable but the state directory: an emptyDir.
        const writable = c.volumeMounts!.filter((m) => !m.readOnly).map((m) => m.mountPath);
        assert.deepEqual(writable, ['/var/lib/meridian'], d.metadata.name);
      }
    }
  });

  it('Services and PodDisruptionBudgets select pods that exist, on ports those pods have; every ConfigMap and Secret a pod names is here', () => {
    for (const s of ofKind<IService>('Service')) {
      const pods = deployments.filter((d) => matches(s.spec!.selector!, d.spec!.template.metadata!.labels));
      assert.ok(pods.length > 0, `Service ${s.metadata.name} selects a Deployment`);
      for (const p of s.spec!.ports!)
        for (const d of pods)
          assert.ok(
            containers(d)[0]!.ports!.some((cp) => cp.name === p.targetPort && cp.protocol === p.protocol),
            `${s.metadata.name}: ${String(p.targetPort)}/${p.protocol}`,
          );
    }
    for (const b of ofKind<IPodDisruptionBudget>('PodDisruptionBudget')) {
      const pods = deployments.filter((d) => matches(b.spec!.selector!.matchLabels!, d.spec!.template.metadata!.labels));
      assert.equal(pods.length, 1, `PDB ${b.metadata.name} selects one Deployment`);
      assert.ok(pods[0]!.spec!.replicas! > Number(b.spec!.minAvailable), `PDB ${b.metadata.name} leaves room to evict`);
    }
    const names = (kind: string): string[] => docs.filter((d) => d.kind === kind).map((d) => d.metadata.name);
    for (const d of deployments) {
      const pod = d.spec!.template.spec!;
      for (const v of pod.volumes ?? []) {
        if (v.configMap) assert.ok(names('ConfigMap').includes(v.configMap.name!), `${d.metadata.name}: ConfigMap ${v.configMap.name}`);
        if (v.secret) assert.ok(names('Secret').includes(v.secret.secretName!), `${d.metadata.name}: Secret ${v.secret.secretName}`);
      }
      for (const e of pod.containers[0]!.envFrom ?? []) if (e.secretRef) assert.ok(names('Secret').includes(e.secretRef.name!), `${d.metadata.name}: Secret ${e.secretRef.name}`);
    }
  });

  it("the ConfigMap's config passes meridian check, with the Secret's certificate where the pod mounts it", (t) => {
    if (spawnSync('openssl', ['version']).status !== 0) {
      if (process.env.CI) assert.fail('openssl missing in CI');
      t.skip('openssl not installed');
      return;
    }
    const root = mkdtempSync(join(tmpdir(), 'meridian-k8s-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    // The pod's layout: the ConfigMap at /etc/meridian, Secret meridian-admin-tls at /etc/meridian-tls.
    mkdirSync(join(root, 'meridian'));
    mkdirSync(join(root, 'meridian-tls'));
    for (const [name, text] of Object.entries(configMap.data)) writeFileSync(join(root, 'meridian', name), text);
    makeCert(join(root, 'meridian-tls'), 'tls', 'meridian-admin');
    const r = spawnSync(process.execPath, [...MERIDIAN_ENTRY, 'check', '--config', join(root, 'meridian/meridian.yaml')], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok$/m);
  });
});
