/** The drills in the order they run (each leaves the system as it found it). @module */
import { configChange } from './config-change.js';
import { drain } from './drain.js';
import { forwarderDown } from './forwarder-down.js';
import { nodeRestart } from './node-restart.js';
import { vantagePartition } from './partition.js';
import { redisEmpty } from './redis-empty.js';
import { redisPrimary } from './redis-primary.js';
import { regionFailure } from './region-failure.js';
import { steadyState } from './steady.js';
import type { Drill } from './types.js';

export const DRILLS: Drill[] = [steadyState, regionFailure, forwarderDown, redisPrimary, redisEmpty, vantagePartition, drain, configChange, nodeRestart];
