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

/** What a bearer secret may be (RFC 6750 b64token, 16 to 200 characters): anything else is refused before any lookup. */
export const BEARER_SECRET = /^[A-Za-z0-9_.~+/-]{16,200}=*$/;

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
 * While the store cannot be reached, the last list read (or, before any, `fallback()`: the node's
 * local copy) still authenticates, so reads keep working in an outage; a token found in none of
 * them gets the store's 503, not a 401 it may not deserve.
 */
export class TokenAuthority {
  private cache: { at: number; byHash: Map<string, TokenRecord> } | null = null;
  private lastGood: Map<string, TokenRecord> | null = null;

  constructor(
    private readonly store: TokenStore,
    private readonly staticTokens: readonly { name: string; role: Role; sha256: string }[],
    private readonly cacheMs = 1000,
    private readonly fallback: () => TokenRecord[] = () => [],
  ) {}

  invalidate(): void {
    this.cache = null;
  }

  async count(): Promise<number> {
    return this.staticTokens.length + (await this.store.list()).length;
  }

  private withStatic(stored: TokenRecord[]): Map<string, TokenRecord> {
    const map = new Map<string, TokenRecord>();
    for (const t of stored) map.set(t.sha256, t);
    for (const t of this.staticTokens) map.set(t.sha256, { ...t, createdAt: '', createdBy: 'config' });
    return map;
  }

  /** The tokens to check against, and the store's error when they are not fresh from it. */
  private async byHash(): Promise<{ map: Map<string, TokenRecord>; error: unknown }> {
    const now = Date.now();
    if (this.cache && now - this.cache.at < this.cacheMs) return { map: this.cache.byHash, error: null };
    try {
      const map = this.withStatic(await this.store.list());
      this.cache = { at: now, byHash: map };
      this.lastGood = map;
      return { map, error: null };
    } catch (error) {
      return { map: this.lastGood ?? this.withStatic(this.fallback()), error };
    }
  }

  /** The principal of an `Authorization` header; throws MERIDIAN_ERR_UNAUTHORIZED. */
  async authenticate(header: string | undefined): Promise<Principal> {
    // The scheme is case-insensitive (RFC 7235 §2.1): `bearer` is as good as `Bearer`.
    const m = header ? /^[Bb][Ee][Aa][Rr][Ee][Rr] (\S+)$/.exec(header) : null;
    if (!m || !BEARER_SECRET.test(m[1]!)) throw new AdminError('MERIDIAN_ERR_UNAUTHORIZED');
    const hash = sha256Hex(m[1]!);
    const { map, error } = await this.byHash();
    const found = map.get(hash);
    // The map lookup already matched; the constant-time compare documents intent and costs nothing.
    if (!found || !timingSafeEqual(Buffer.from(found.sha256, 'hex'), Buffer.from(hash, 'hex'))) {
      if (error) throw error;
      throw new AdminError('MERIDIAN_ERR_UNAUTHORIZED');
    }
    return { name: found.name, role: found.role };
  }
}
