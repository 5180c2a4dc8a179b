/**
 * The RedisStore's Lua scripts and its audit stream entry format (see redis.ts for the key layout).
 * @module
 */
import { parseAuditEntry } from './records.js';
import type { AuditEntry } from './types.js';

// Every check comes before the first write: Redis does not roll a script back, so a script that
// failed half-way would leave a head without its audit entry.
const CHECKS = `
local function kind(k) return redis.call('TYPE', k)['ok'] end
local function check(k, want)
  local t = kind(k)
  if t ~= 'none' and t ~= want then return 'MERIDIAN ' .. k .. ' is a ' .. t .. ', not a ' .. want end
  return nil
end
local function seqcheck(k)
  local s = redis.call('GET', k)
  if s and not tonumber(s) then return 'MERIDIAN ' .. k .. ' is not an integer' end
  return check(k, 'string')
end`;

/**
 * KEYS: head, v:<expected+1>, meta, audit, audit:seq. ARGV: expected, record, meta, maxlen, entry,
 * channel, base meta (a delta's: the meta of version `expected` it was computed on, '' for a
 * checkpoint). Returns {1, v, seq}, {0, head} when head moved, {2, head} when version `expected`
 * is not the one the delta was computed on (the caller writes a checkpoint instead).
 */
export const COMMIT = `${CHECKS}
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
if not head then return redis.error_reply('MERIDIAN ' .. KEYS[1] .. ' is not an integer') end
if head ~= tonumber(ARGV[1]) then return {0, head} end
if ARGV[7] ~= '' and redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[7] then return {2, head} end
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.error_reply('MERIDIAN ' .. KEYS[2] .. ' exists above head ' .. head) end
local err = check(KEYS[3], 'hash') or check(KEYS[4], 'stream') or seqcheck(KEYS[5])
if err then return redis.error_reply(err) end
local v = head + 1
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], tostring(v), ARGV[3])
redis.call('SET', KEYS[1], v)
local seq = redis.call('INCR', KEYS[5])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'seq', seq, 'e', ARGV[5])
redis.call('PUBLISH', ARGV[6], v)
return {1, v, seq}`;

/** KEYS: audit, audit:seq. ARGV: maxlen, entry. */
export const APPEND_AUDIT = `${CHECKS}
local err = check(KEYS[1], 'stream') or seqcheck(KEYS[2])
if err then return redis.error_reply(err) end
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'seq', seq, 'e', ARGV[2])
return seq`;

/**
 * Re-seeds an empty store from a node's copy (follow.ts), only while head is absent, so of several
 * nodes restoring at once exactly one wins. The version keeps its number, tokens are added where
 * the name is free, and the audit tail goes back with its seqs into a log still empty (entries
 * written since Redis came back keep theirs); then one `store.restore` entry, then the head.
 * KEYS: head, v:<n>, meta, audit, audit:seq, tokens.
 * ARGV: n, record, meta, tokens (JSON [[name, json]…]), audit (JSON [[seq, json]…], oldest first),
 * restore entry, channel.
 */
export const RESTORE = `${CHECKS}
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, tonumber(redis.call('GET', KEYS[1])) or -1} end
local err = check(KEYS[2], 'string') or check(KEYS[3], 'hash') or check(KEYS[4], 'stream') or seqcheck(KEYS[5]) or check(KEYS[6], 'hash')
if err then return redis.error_reply(err) end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
for _, t in ipairs(cjson.decode(ARGV[4])) do redis.call('HSETNX', KEYS[6], t[1], t[2]) end
if redis.call('EXISTS', KEYS[5]) == 0 and redis.call('EXISTS', KEYS[4]) == 0 then
  local last = 0
  for _, e in ipairs(cjson.decode(ARGV[5])) do
    redis.call('XADD', KEYS[4], '*', 'seq', e[1], 'e', e[2])
    last = math.max(last, tonumber(e[1]))
  end
  redis.call('SET', KEYS[5], string.format('%d', last))
end
local seq = redis.call('INCR', KEYS[5])
redis.call('XADD', KEYS[4], '*', 'seq', seq, 'e', ARGV[6])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[7], ARGV[1])
return {1, tonumber(ARGV[1]), seq}`;

/** The stream keeps seq in its own field; the JSON holds the rest. */
export function auditJson(e: AuditEntry): string {
  const { seq: _seq, ...rest } = e;
  return JSON.stringify(rest);
}

export function parseStreamEntry(fields: string[]): AuditEntry | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  if (f.seq === undefined || f.e === undefined) return null;
  try {
    return parseAuditEntry({ ...(JSON.parse(f.e) as object), seq: Number(f.seq) });
  } catch {
    return null;
  }
}
