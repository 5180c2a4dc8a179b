/**
 * Bearer tokens with three roles. Secrets are 256-bit random strings shown once at creation; only
 * their SHA-256 is stored (a slow password hash buys nothing against a secret that cannot be guessed,
 * and a hash lookup keeps every request O(1)).
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role, TokenRecord, TokenStore } from '../store/types.js';
import { AdminError } from './errors.js';

export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export interface Principal {
  name: string;
  role: Role;
}

export const sha256Hex = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

/** `mrd_` + 43 base64url characters (32 random bytes). The prefix lets secret scanners find leaks. */
export function newSecret(): string {
  return 'mrd_' + randomBytes(32).toString('base64url');
}

export function allows(principal: Principal, needed: Role): boolean {
  return ROLE_RANK[principal.role] >= ROLE_RANK[needed];
}

/**
 * Resolves bearer secrets to principals: the static tokens of the YAML config plus those in the
 * store. The store's list is cached briefly so a request costs no store round trip; a deleted
 * token stops working within `cacheMs` on every node (and at once on the node that deleted it).
 */
export class TokenAuthority {
  private cache: { at: number; byHash: Map<string, TokenRecord> } | null = null;

  constructor(
    private readonly store: TokenStore,
    private readonly staticTokens: readonly { name: string; role: Role; sha256: string }[],
    private readonly cacheMs = 1000,
  ) {}

  invalidate(): void {
    this.cache = null;
  }

  async count(): Promise<number> {
    return this.staticTokens.length + (await this.store.list()).length;
  }

  private async byHash(): Promise<Map<string, TokenRecord>> {
    const now = Date.now();
    if (this.cache && now - this.cache.at < this.cacheMs) return this.cache.byHash;
    const map = new Map<string, TokenRecord>();
    for (const t of await this.store.list()) map.set(t.sha256, t);
    for (const t of this.staticTokens) map.set(t.sha256, { ...t, createdAt: '', createdBy: 'config' });
    this.cache = { at: now, byHash: map };
    return map;
  }

  /** The principal of an `Authorization` header; throws MERIDIAN_ERR_UNAUTHORIZED. */
  async authenticate(header: string | undefined): Promise<Principal> {
    // The scheme is case-insensitive (RFC 7235 §2.1): `bearer` is as good as `Bearer`.
    const m = header ? /^[Bb][Ee][Aa][Rr][Ee][Rr] ([A-Za-z0-9_.~+/-]{16,200}=*)$/.exec(header) : null;
    if (!m) throw new AdminError('MERIDIAN_ERR_UNAUTHORIZED');
    const hash = sha256Hex(m[1]!);
    const found = (await this.byHash()).get(hash);
    // The map lookup already matched; the constant-time compare documents intent and costs nothing.
    if (!found || !timingSafeEqual(Buffer.from(found.sha256, 'hex'), Buffer.from(hash, 'hex'))) throw new AdminError('MERIDIAN_ERR_UNAUTHORIZED');
    return { name: found.name, role: found.role };
  }
}
