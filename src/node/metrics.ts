/**
 * A role's /metrics listener, opened through its stack so a failed start or a close closes it.
 * @module
 */
import type { Server } from 'node:http';
import type { ListenAddress } from '../config/load.js';
import type { ResourceStack } from '../lifecycle/stack.js';
import type { Readiness } from '../obs/health-endpoints.js';
import { serveMetrics, type MetricsPage } from '../obs/metrics.js';

/** /metrics with /healthz and /readyz (`readiness`: the role's own, src/node/readiness.ts). */
export function listenMetrics(stack: ResourceStack, registry: MetricsPage, at: ListenAddress, readiness: Readiness): Promise<Server> {
  return stack.open(
    'metrics listener',
    () => serveMetrics(registry, at.host, at.port, readiness),
    (server) => new Promise<void>((resolve) => server.close(() => resolve())),
  );
}
