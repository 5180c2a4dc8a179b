/**
 * GET /v1/health: every region's and endpoint's health as this node sees it, with the live
 * vantages' votes (src/admin/health-report.ts); `meridian status` prints it.
 * @module
 */
import type { AdminApp, RouteOptions } from './types.js';
import { errorResponses, routeConfig } from './common.js';
import { HealthReportSchema } from './responses.js';

export async function registerHealthRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  app.get(
    '/v1/health',
    {
      config: routeConfig('viewer'),
      schema: {
        tags: ['health'],
        summary: "Every region's and endpoint's health as this node sees it, with the vantages' votes",
        response: { 200: HealthReportSchema, ...errorResponses },
      },
    },
    // A node always provides the report; an app built without it (tests of other routes) has no health to show.
    async () => rt.deps.healthReport?.() ?? { version: rt.deps.live().version, vantages: [], regions: [] },
  );
}
