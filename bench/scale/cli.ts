/**
 * The command line both scale benchmarks share: the deployment's size, the load, profiling and
 * output options, each number checked against a range (a typo must not start a ten-minute run).
 * @module
 */
import { parseArgs } from 'node:util';
import { POLICIES, type DeploymentShape } from './deployment.js';
import type { Build } from './harness.js';

type Options = Record<string, { type: 'string'; default?: string }>;

const COMMON: Options = {
  regions: { type: 'string', default: '200' },
  services: { type: 'string', default: '1000' },
  endpoints: { type: 'string', default: '10000' },
  'max-seconds': { type: 'string', default: '5' },
  fraction: { type: 'string', default: '0.5' },
  qps: { type: 'string' },
  'flips-per-second': { type: 'string' },
  'scrape-every-ms': { type: 'string', default: '15000' },
  'cpu-prof': { type: 'string' },
  json: { type: 'string' },
  build: { type: 'string', default: 'dist' },
};

export interface Cli {
  values: Record<string, string | undefined>;
  /** Option `name` as a number in min..max, or an error naming it. */
  num(name: string, min: number, max: number): number;
  shape: DeploymentShape;
  /** The flip rate: `--flips-per-second`, else 1 % of the endpoints. */
  flipsPerSecond: number;
  /** `--build dist` (default: the npm scripts build first) or `src` (through tsx). */
  build: Build;
}

export function parseCli(extra: Options): Cli {
  const { values } = parseArgs({ options: { ...COMMON, ...extra } }) as { values: Record<string, string | undefined> };
  const num = (name: string, min: number, max: number): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${name} must be a number in ${min}..${max} (got ${String(values[name])})`);
    return v;
  };
  const shape: DeploymentShape = { regions: num('regions', 1, 10_000), services: num('services', 1, 100_000), endpoints: num('endpoints', 1, 100_000), policies: POLICIES };
  const flipsPerSecond = values['flips-per-second'] === undefined ? shape.endpoints / 100 : num('flips-per-second', 0, 10_000);
  const build = values['build'];
  if (build !== 'dist' && build !== 'src') throw new Error(`--build must be dist or src (got ${build})`);
  return { values, num, shape, flipsPerSecond, build };
}
