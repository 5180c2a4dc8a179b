/** Where the e2e harness finds the repository and the built CLI. @module */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI (`npm run build`): the drills run what a deployment runs. */
export const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
export const AGENT = path.join(REPO_ROOT, 'test', 'e2e', 'agent.ts');
