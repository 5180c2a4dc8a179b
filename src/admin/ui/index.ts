/**
 * `/ui`: the live dashboard, served by the admin API itself (README.md beside this file). The page
 * and its scripts are public and hold no data; everything they show comes from viewer-token
 * requests: the `/v1` API and the `/ui/events` stream.
 * @module
 */
import type { AdminApp, RouteOptions } from '../routes/types.js';
import { AdminError } from '../errors.js';
import { routeConfig } from '../routes/common.js';
import { loadAssets, SECURITY_HEADERS } from './assets.js';
import { DashboardFeed } from './events.js';
import { StreamCounts } from './streams.js';

export async function registerUiRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  const assets = loadAssets();
  const feed = new DashboardFeed(rt.deps, rt.uiStreams);
  const counts = new StreamCounts(rt.uiStreams);
  feed.start();
  app.addHook('preClose', async () => feed.close());
  app.addHook('onClose', async () => feed.close());
  // Every /ui answer (errors included) carries the policy: the plugin's hooks apply to its routes only.
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.headers(SECURITY_HEADERS);
    return payload;
  });

  const hide = { hide: true };
  app.get('/ui', { schema: hide }, async (_req, reply) => reply.redirect('/ui/'));
  const send = (name: string) => async (_req: unknown, reply: import('fastify').FastifyReply) => {
    const asset = assets.get(name);
    if (!asset) throw new AdminError('MERIDIAN_ERR_ROUTE_NOT_FOUND', `no dashboard file ${name}`);
    return reply.type(asset.type).send(asset.body);
  };
  app.get('/ui/', { schema: hide }, send('index.html'));
  app.get<{ Params: { file: string } }>('/ui/:file', { schema: hide }, (req, reply) => send(req.params.file)(req, reply));

  // The live feed: text/event-stream, the dashboard state when it changed (events.ts), within
  // bounds per token, per address and in all (streams.ts: over one, 429 before any stream opens).
  // No HEAD twin: a HEAD would hold a stream open with no body to send.
  app.get('/ui/events', { config: routeConfig('viewer'), schema: hide, exposeHeadRoute: false }, async (req, reply) => {
    const release = counts.admit(req.principal?.name ?? '', req.socket.remoteAddress ?? '');
    reply.hijack();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.raw.setHeader(k, v);
    // Only a refused token ends the stream; a store that cannot be reached does not (tokens are then
    // checked against the last list read, auth.ts).
    const header = req.headers.authorization;
    feed.add(
      reply.raw,
      () =>
        rt.tokens.authenticate(header).then(
          () => true,
          (err: unknown) => (err as { code?: unknown }).code !== 'MERIDIAN_ERR_UNAUTHORIZED',
        ),
      release,
    );
    req.raw.on('close', () => reply.raw.end());
  });
}
