/**
 * The `admin:` section as a config section (src/config/sections.ts): its schema (config.ts), the
 * retention cron check (retention.ts), and `LoadedConfig.admin`. Absent = no config store: the YAML
 * is the whole config.
 * @module
 */
import type { ConfigSection } from '../config/sections.js';
import { AdminSchema, type AdminConfig } from './config.js';
import { retentionProblem } from './retention.js';

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
  compile(block) {
    const admin = block as AdminConfig;
    const retention = retentionProblem(admin.retention);
    return { value: admin, problems: retention ? [{ path: ['admin', 'retention', 'cron'], reason: retention }] : [] };
  },
};
