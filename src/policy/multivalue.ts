/**
 * multivalue: answer with up to `max` healthy addresses taken across regions in decision order
 * (Route 53 multivalue answers up to 8), instead of the addresses of the first region(s) only.
 * @module
 */
import { asRecord, rejectUnknownKeys } from './lists.js';
import type { PolicyDefinition } from './types.js';

export interface MultivalueConfig {
  max: number;
}

export const multivalue: PolicyDefinition<MultivalueConfig> = {
  name: 'multivalue',
  phase: 'select',
  needsGeo: false,
  parseConfig(json) {
    const o = asRecord(json, 'multivalue');
    rejectUnknownKeys(o, ['max'], 'multivalue');
    const max = o.max ?? 8;
    // 8 is Route 53's figure; 32 A records still fit a 512-byte answer for a short name.
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 32) throw new Error('multivalue.max must be an integer from 1 to 32');
    return { max };
  },
  build(cfg) {
    return (state, ctx) => {
      ctx.trace?.push(`multivalue: up to ${cfg.max} addresses across regions`);
      return { ...state, maxAddresses: cfg.max, regionsToAnswer: Number.POSITIVE_INFINITY };
    };
  },
};
