/**
 * The `admin:` section as a config section (src/config/sections.ts): its schema (config.ts), the
 * retention cron check (retention.ts), and `LoadedConfig.admin`. Absent = no config store: the YAML
 * is the whole config.
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
