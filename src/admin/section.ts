/**
 * The `admin:` section as a config section (src/config/sections.ts): its schema (config.ts), the
 * retention cron check (retention.ts), and `LoadedConfig.admin`. Absent = no config store: the YAML
 * is the whole config. Also the API's start rule on tokens, which needs the store's tokens too.
 * @module
 */
import type { ConfigSection, SectionProblem } from '../config/sections.js';
import { AdminSchema, type AdminConfig } from './config.js';
import { retentionProblem } from './retention.js';
import { readTlsMaterial, resolveTlsFiles } from './tls.js';

declare module '../config/sections.js' {
  interface Sections {
    /** The `admin:` section; null = no config store, the YAML is the whole config. */
    admin: AdminConfig | null;
  }
}

export const adminSection: ConfigSection<'admin'> = {
  key: 'admin',
  schema: AdminSchema,
  optional: true,
  compile(block, ctx) {
    const admin = block as AdminConfig;
    const problems: SectionProblem[] = [];
    const retention = retentionProblem(admin.retention);
    if (retention) problems.push({ path: ['admin', 'retention', 'cron'], reason: retention });
    if (admin.tls) {
      // Resolved here, so the server and the CLI read the files the check read.
      admin.tls = resolveTlsFiles(ctx.file, admin.tls);
      try {
        readTlsMaterial(admin.tls);
      } catch (err) {
        const [field, ...rest] = (err as Error).message.split(': ');
        problems.push({ path: ['admin', 'tls', field!], reason: `admin.tls.${field}: ${rest.join(': ')}` });
      }
    }
    return { value: admin, problems };
  },
};

export const isLoopback = (host: string): boolean => host === '::1' || /^127\./.test(host);

/** Off loopback without admin.tls, bearer tokens cross the network in clear text: serve logs this at start, check prints it. */
export function plainHttpWarning(host: string, tls: boolean): string | null {
  return tls || isLoopback(host) ? null : 'admin API: plain HTTP off loopback, so tokens cross the network in clear text; set admin.tls (src/admin/README.md, TLS)';
}

/**
 * The admin API's start rule: off loopback it needs at least one token, from the YAML or the store
 * (`tokens` counts both), else the API would be open to anyone who reaches it. The one copy:
 * `serve` refuses to start on it (server.ts, before anything is bound), `meridian check` reports it.
 */
export function adminTokensProblem(host: string, tokens: number): string | null {
  if (tokens > 0 || isLoopback(host)) return null;
  return `MERIDIAN_ERR_ADMIN_NO_TOKENS: the admin API would listen on ${host} without any token; configure admin.tokens (see \`meridian token\`) or listen on loopback`;
}
