/**
 * A role's /metrics listener, opened through its stack so a failed start or a close closes it.
 * @module
 */
import type { Server } from 'node:http';
import type { ListenAddress } from '../config/load.js';
import type { ResourceStack } from '../lifecycle/stack.js';
import { serveMetrics, type MetricsPage } from '../obs/metrics.js';

export function listenMetrics(stack: ResourceStack, registry: MetricsPage, at: ListenAddress): Promise<Server> {
  return stack.open(
    'metrics listener',
    () => serveMetrics(registry, at.host, at.port),
    (server) => new Promise<void>((resolve) => server.close(() => resolve())),
  );
}
