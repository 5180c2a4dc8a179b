/**
 * `health.targets` applied to a config document: the admin API's write check (src/serve.ts).
 * Apart from targets.ts, which the schema imports, so the document compiler stays out of its graph.
 * @module
 */
import type { CompileResult } from './document.js';
import { deniedEndpoints, TARGET_DENIED, type TargetPolicy } from './targets.js';

/**
 * A compiled document refused when any endpoint is denied: the admin API's write check. Not part of
 * compileDocument, because a node following the store must still apply a version another node wrote
 * under a wider policy (its answers follow the store); its probes refuse the connection instead.
 */
export function refuseDenied(result: CompileResult, policy: TargetPolicy): CompileResult {
  if (!result.ok) return result;
  const problems = deniedEndpoints(policy, result.document.regions).map((p) => ({ path: `/${p.path.join('/')}`, reason: p.reason, code: TARGET_DENIED }));
  return problems.length ? { ok: false, problems } : result;
}
