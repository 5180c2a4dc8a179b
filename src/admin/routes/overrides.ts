/**
 * Overrides (force a region or an endpoint up, down or drained, optionally for a while). They live
 * on the health bus, beside what the probes report, and outrank it; they are not config versions
 * (an incident action must not be undone by a config rollback) but every one is audited.
 * `?dryRun=true` answers what would be in force and which answers would move (the live decision
 * code on this node's health, recomputed with the override), and writes nothing.
 * @module
 */
import { Type } from '@sinclair/typebox';
import { makeOverride } from '../../health/overrides.js';
import type { Override, OverrideScope } from '../../health/types.js';
import type { AdminApp, AdminRuntime, RouteOptions } from './types.js';
import { guard, guardBus } from '../change.js';
import { overrideAnswers } from '../dryrun.js';
import { auditExpiredOverrides, overrideClearEntry, overrideSetEntry } from '../override-audit.js';
import { AdminError } from '../errors.js';
import { DryRunHonoured, DryRunSample, errorResponses, routeConfig, sampleOf } from './common.js';
import { OverrideClearedSchema, OverrideDryRunSchema, OverrideListSchema, OverrideSchema } from './responses.js';

const Id = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' });
const RegionScope = Type.Object({ region: Id });
const EndpointScope = Type.Object({ region: Id, endpoint: Id });
const OverrideBody = Type.Object(
  {
    state: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('drained')]),
    // The grammar of parseDuration (src/health/overrides.ts): `ms` was allowed here and refused there.
    for: Type.Optional(Type.Union([Type.String({ pattern: '^(\\d+[smhd])+$', maxLength: 64, description: 'expiry, e.g. 30m, 2h, 1h30m' }), Type.Null()])),
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);

const SetQuery = Type.Object({ dryRun: DryRunHonoured, sample: DryRunSample }, { additionalProperties: false });
const ClearQuery = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1000 })), dryRun: DryRunHonoured, sample: DryRunSample }, { additionalProperties: false });
const SetResponses = { 200: Type.Union([OverrideSchema, OverrideDryRunSchema]), ...errorResponses };
const ClearResponses = { 200: Type.Union([OverrideClearedSchema, OverrideDryRunSchema]), ...errorResponses };

const view = (o: { scope: string; state: string; expiresAt: number | null; reason: string; author: string; createdAt: number }) => ({
  scope: o.scope,
  state: o.state,
  expiresAt: o.expiresAt === null ? null : new Date(o.expiresAt).toISOString(),
  reason: o.reason,
  author: o.author,
  createdAt: new Date(o.createdAt).toISOString(),
});

type SetRequest = { body: { state: string; for?: string | null | undefined; reason: string }; query: { dryRun?: boolean; sample?: string } };
type ClearQuery = { reason?: string; dryRun?: boolean; sample?: string };

/** What the routes do: validate, rehearse (dry run) or write and audit. */
function overrideActions(rt: AdminRuntime) {
  const { deps } = rt;
  const now = (): number => deps.now?.() ?? Date.now();
  // While the bus cannot be read, the overrides in this node's health snapshot are what it serves.
  const read = async (): Promise<Override[]> => {
    try {
      return await deps.bus.readOverrides();
    } catch (err) {
      if (deps.overridesInForce) return deps.overridesInForce();
      return guardBus(() => Promise.reject(err));
    }
  };
  const inForce = async (): Promise<Override[]> => (await read()).filter((o) => o.expiresAt === null || o.expiresAt > now());

  /** The override of a request body, validated; nothing is written. */
  const build = (scope: OverrideScope, body: { state: string; for?: string | null | undefined; reason: string }, author: string): Override => {
    let override;
    try {
      override = makeOverride({ scope, state: body.state, for: body.for ?? null, reason: body.reason, author, now: now() });
    } catch (err) {
      throw new AdminError('MERIDIAN_ERR_VALIDATION', (err as Error).message, /^duration/.test((err as Error).message) ? 'body/for' : 'body');
    }
    // An expiry past what a Date can hold (`for: 99999999999d`) used to be written to the bus and
    // then fail the reply with a 500: check before anything is written.
    if (override.expiresAt !== null && Number.isNaN(new Date(override.expiresAt).getTime())) {
      throw new AdminError('MERIDIAN_ERR_VALIDATION', `for: ${body.for} is too far in the future`, 'body/for');
    }
    return override;
  };
  /** A dry run: `next` would replace the scope's override (null: clear it); the answers of both states, compared. */
  const rehearse = async (scope: OverrideScope, next: Override | null, sample: string | undefined) => {
    const current = await inForce();
    const before = current.find((o) => o.scope === scope) ?? null;
    if (!next && !before) throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `no override for ${scope}`);
    const after = [...current.filter((o) => o.scope !== scope), ...(next ? [next] : [])];
    // The live config: the one whose answers the override would move (the store's head while the node has not applied one).
    const document = deps.current?.()?.document ?? (await rt.changes.current()).document;
    const answers = await overrideAnswers(deps, document, current, after, sampleOf(sample));
    return { dryRun: true as const, scope, before: before && view(before), after: next && view(next), answers };
  };
  const set = async (scope: OverrideScope, req: SetRequest, author: string) => {
    const override = build(scope, req.body, author);
    if (req.query.dryRun) return rehearse(scope, override, req.query.sample);
    await guardBus(() => auditExpiredOverrides(deps.bus, deps.store));
    await guardBus(() => deps.bus.writeOverride(override));
    await guard(() => deps.store.appendAudit(overrideSetEntry(override)));
    deps.onOverridesChanged?.();
    return view(override);
  };
  const clear = async (scope: OverrideScope, query: ClearQuery, author: string) => {
    if (query.dryRun) return rehearse(scope, null, query.sample);
    await guardBus(() => auditExpiredOverrides(deps.bus, deps.store));
    const existed = await guardBus(() => deps.bus.deleteOverride(scope));
    if (!existed) throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `no override for ${scope}`);
    await guard(() => deps.store.appendAudit(overrideClearEntry(scope, author, query.reason ?? '')));
    deps.onOverridesChanged?.();
    return { scope, cleared: true };
  };

  /** An override must name a region (and endpoint) of the current config: a typo would silently do nothing. */
  const mustExist = async (region: string, endpoint?: string): Promise<void> => {
    const r = (await rt.changes.current()).document.regions.find((x) => x.id === region);
    if (!r) throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `region ${region} does not exist`, 'params/region');
    if (endpoint !== undefined && !r.endpoints.some((e) => (e.id ?? `${e.address}:${e.port}`) === endpoint)) {
      throw new AdminError('MERIDIAN_ERR_NOT_FOUND', `region ${region} has no endpoint ${endpoint}`, 'params/endpoint');
    }
  };

  return { inForce, set, clear, mustExist };
}

export async function registerOverrideRoutes(app: AdminApp, { rt }: RouteOptions): Promise<void> {
  const { inForce, set, clear, mustExist } = overrideActions(rt);
  app.get('/v1/overrides', { config: routeConfig('viewer'), schema: { tags: ['overrides'], summary: 'Overrides in force', response: { 200: OverrideListSchema, ...errorResponses } } }, async () =>
    (await inForce()).map(view),
  );
  const operator = routeConfig('operator');
  app.put(
    '/v1/overrides/region/:region',
    { config: operator, schema: { tags: ['overrides'], summary: "Force a region's state", params: RegionScope, querystring: SetQuery, body: OverrideBody, response: SetResponses } },
    async (req) => {
      await mustExist(req.params.region);
      return set(`region/${req.params.region}`, req, req.principal!.name);
    },
  );
  app.put(
    '/v1/overrides/endpoint/:region/:endpoint',
    { config: operator, schema: { tags: ['overrides'], summary: "Force an endpoint's state", params: EndpointScope, querystring: SetQuery, body: OverrideBody, response: SetResponses } },
    async (req) => {
      await mustExist(req.params.region, req.params.endpoint);
      return set(`endpoint/${req.params.region}/${req.params.endpoint}`, req, req.principal!.name);
    },
  );
  app.delete(
    '/v1/overrides/region/:region',
    { config: operator, schema: { tags: ['overrides'], summary: 'Clear a region override', params: RegionScope, querystring: ClearQuery, response: ClearResponses } },
    async (req) => clear(`region/${req.params.region}`, req.query, req.principal!.name),
  );
  app.delete(
    '/v1/overrides/endpoint/:region/:endpoint',
    { config: operator, schema: { tags: ['overrides'], summary: 'Clear an endpoint override', params: EndpointScope, querystring: ClearQuery, response: ClearResponses } },
    async (req) => clear(`endpoint/${req.params.region}/${req.params.endpoint}`, req.query, req.principal!.name),
  );
}
