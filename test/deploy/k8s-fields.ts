/**
 * Unknown fields in Kubernetes manifests, which the OpenAPI schemas let through (they do not close
 * their objects; the API server drops such a field, or refuses it with strict field validation):
 * each manifest becomes an object literal typed with kubernetes-models' interface for its kind, and
 * TypeScript's excess-property check, which reaches every depth of a literal, names any field the
 * API does not have (kubeconform's -strict, offline).
 * @module
 */
import { join } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../helpers/dnsproc.js';

/** The interface of each kind, by `apiVersion/kind`: its module and name in kubernetes-models. */
export const TYPES: Record<string, [string, string]> = {
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'ISecret'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'policy/v1/PodDisruptionBudget': ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'],
};

/** One message per field the kind's API lacks (empty: none), naming the manifest. */
export function unknownFields(manifests: { name: string; kind: string; body: Record<string, unknown> }[]): string[] {
  // A file that is never written: it sits in test/deploy so `kubernetes-models` resolves from node_modules.
  const file = join(REPO_ROOT, 'test/deploy/__manifests__.ts');
  const imports = new Set<string>();
  const lines = manifests.map((m, i) => {
    const [module, type] = TYPES[m.kind]!;
    imports.add(`import type { ${type} } from '${module}';`);
    return `// ${m.name}\nexport const m${i}: ${type} = ${JSON.stringify(m.body, null, 1)};`;
  });
  const source = [...imports, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const getSource = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === file ? source : read(f));
  host.fileExists = (f) => f === file || exists(f);
  host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, source, lang) : getSource(f, lang, ...rest));
  const program = ts.createProgram([file], options, host);
  const text = source.split('\n');
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
    // The manifest is named by the comment above its literal.
    const owner = text
      .slice(0, line + 1)
      .reverse()
      .find((l) => l.startsWith('// '));
    return `${owner?.slice(3) ?? '?'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}
