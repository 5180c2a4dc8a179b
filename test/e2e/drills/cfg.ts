/** The cfg service, which drills change through the admin API to see the change travel. @module */
import { poll } from '../client-ops.js';
import { CFG } from '../config.js';
import type { System } from '../system.js';

/** cfg's service document as the store holds it, without its name (the URL names it). */
export async function cfgService(sys: System): Promise<Record<string, unknown>> {
  const cur = await sys.api('dns-a', 'GET', `/v1/services/${CFG}`);
  if (cur.status !== 200) throw new Error(`GET ${CFG}: ${cur.status} ${JSON.stringify(cur.body)}`);
  const { name: _name, ...service } = (cur.body.service ?? cur.body) as Record<string, unknown>;
  return service;
}

/** Sets cfg's TTL through dns-a; true once `server` answers with it (within 5 s). */
export async function setCfgTtl(sys: System, ttl: number, server: string): Promise<boolean> {
  const put = await sys.api('dns-a', 'PUT', `/v1/services/${CFG}?reason=e2e`, { ...(await cfgService(sys)), ttl });
  if (put.status !== 200) throw new Error(`PUT ${CFG}: ${put.status} ${JSON.stringify(put.body)}`);
  return (await poll({ server, name: CFG }, { kind: 'ttl', ttl }, 20, 5000)).at !== null;
}
