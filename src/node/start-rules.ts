/**
 * What a role refuses at start beyond loading the YAML, for `meridian check`, judged by the very
 * rule functions the roles run: the fd budget (fds.ts budgetProblems, with this process's limit),
 * the config store's choice (store.ts storeOpener) and readable data, and the admin API's token
 * rule (src/admin/section.ts adminTokensProblem), counting the YAML's tokens and the file store's.
 * A fresh-eyes review of issue 16 found `check` saying `ok` for configs `serve` then refused.
 * @module
 */
import { join } from 'node:path';
import { adminTokensProblem, plainHttpWarning } from '../admin/section.js';
import { ConfigError, parseListen, type LoadedConfig } from '../config/load.js';
import { createLogger } from '../obs/log.js';
import { formatRedisProblem, RedisConfigError } from '../redis/config.js';
import { loadTokens } from '../store/file.js';
import { startBudgetProblems } from './fds.js';
import { storeOpener } from './store.js';

export interface StartFindings {
  /** `file:line: reason`: the role would refuse to start. */
  problems: string[];
  /** `file:line: warning: reason`: it may refuse, on something `check` cannot see (the Redis store's tokens). */
  warnings: string[];
}

export async function startProblems(config: LoadedConfig): Promise<StartFindings> {
  const found: StartFindings = { problems: startBudgetProblems(config), warnings: [] };
  const admin = config.admin;
  const listen = admin?.listen ? parseListen(admin.listen) : null;
  if (!admin || !listen || typeof listen === 'string') return found;
  const at = `${config.file}:${config.lineOf?.(['admin', 'listen']) ?? 0}`;
  const plain = plainHttpWarning(listen.host, Boolean(admin.tls));
  if (plain) found.warnings.push(`${at}: warning: ${plain}`);
  let opener;
  try {
    opener = storeOpener(config, createLogger('silent'));
  } catch (err) {
    // What the environment adds (REDIS_URL, credentials) is judged where serve judges it: at the store's choice.
    if (err instanceof RedisConfigError) {
      const line = (path: (string | number)[]): number => (path[0] === 'redis' || path[0] === 'health' ? (config.lineOf?.(path) ?? 0) : 0);
      found.problems.push(...err.problems.map((p) => `${config.file}:${line(p.path)}: ${formatRedisProblem(p)}`));
      return found;
    }
    if (!(err instanceof ConfigError)) throw err;
    found.problems.push(...err.problems.map((p) => `${config.file}:${config.lineOf?.(['admin', 'store']) ?? 0}: MERIDIAN_ERR_INVALID_CONFIG: ${p.replace(`${config.file}: `, '')}`));
    return found;
  }
  if (opener.kind === 'redis') {
    // check does not connect to Redis: say what serve will do if the store has none.
    const problem = adminTokensProblem(listen.host, admin.tokens.length);
    if (problem) found.warnings.push(`${at}: warning: ${problem} (unless the Redis store holds tokens: \`meridian check\` does not read it; serve refuses to start if it holds none)`);
    return found;
  }
  try {
    const stored = await loadTokens(join(opener.dataDir, 'tokens.json'));
    const problem = adminTokensProblem(listen.host, admin.tokens.length + stored.size);
    if (problem) found.problems.push(`${at}: ${problem}`);
  } catch (err) {
    found.problems.push(`${at}: MERIDIAN_ERR_INVALID_CONFIG: ${(err as Error).message}`);
  }
  return found;
}
