import type { RedisClient } from './createRedisStore.js';
import { BUMP_FN, TRIM_GONE } from './redisEdgeFeed.js';

// The matchmaker's Redis store scripts: edges, heartbeats, reservations, holds, activation, release, reaping and
// reconciliation, each one atomic on the server (createRedisStore.ts calls them).

// All scripts read the clock with TIME so that every instance agrees on expiry.
const NOW = `local __t = redis.call('TIME'); local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)`;

/**
 * KEYS: nonce, edge, alive, edges, geo, feed ver, feed changes, feed gone. ARGV: edgeJson, ttlMs, nonceTtlMs, id,
 * lon, lat, capacity. (The feed: redisEdgeFeed.ts.)
 */
const PUT_EDGE = `${NOW}
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 'replay' end
redis.call('HSET', KEYS[2], 'json', ARGV[1], 'capacity', ARGV[7])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), ARGV[4])
redis.call('GEOADD', KEYS[5], ARGV[5], ARGV[6], ARGV[4])
redis.call('ZADD', KEYS[7], redis.call('INCR', KEYS[6]), ARGV[4])
redis.call('ZREM', KEYS[8], ARGV[4])
return 'ok'`;

/**
 * Lua `heartbeat(K, A)` — K: nonce, edges, alive, load, feed ver, feed changes. A: id, loadJson, ttlMs, nonceTtlMs,
 * '1' if the load says the edge is full (freeSlots ≤ 0). The feed learns of a heartbeat only when it changes what the
 * registry sees: the edge turning full or not, or coming back after its liveness lapsed (not yet reaped).
 */
const HEARTBEAT_FN = `local function heartbeat(K, A)
  local deadline = redis.call('ZSCORE', K[2], A[1])
  if not deadline then return 'unknown' end
  if not redis.call('SET', K[1], '1', 'NX', 'PX', A[4]) then return 'replay' end
  local old = redis.call('GET', K[4])
  local wasFull = old and (tonumber(cjson.decode(old).freeSlots) or 1) <= 0 or false
  if tonumber(deadline) <= now or wasFull ~= (A[5] == '1') then
    redis.call('ZADD', K[6], redis.call('INCR', K[5]), A[1])
  end
  redis.call('SET', K[4], A[2])
  redis.call('SET', K[3], '1', 'PX', A[3])
  redis.call('ZADD', K[2], now + tonumber(A[3]), A[1])
  return 'ok'
end`;

/**
 * KEYS: session, hold:<holder>... ARGV: ttlMs, sessionJson, sessionId, key prefix, holder count n, max per
 * holder (n), edgeIds... One allocation, one round trip: first the holders' caps of unconnected reservations
 * (a holder's earlier sessions count while their session hash says 'reserved'; expired, started or ended ones
 * are dropped) — a holder at its cap answers 'limit:<i>' (1-based) and nothing is recorded; then the first
 * live candidate whose held slots (expired reservations dropped) are below capacity gets the slot, the
 * session hash and a place in every holder's set. The per-edge keys (alive, slots, edge) are built here from
 * the prefix, like REAP and RELEASE do: on a Redis Cluster that prefix is a hash tag (createRedisStore.ts
 * `storeKeyPrefix`), so they are in the declared keys' slot, which is what Cluster checks.
 */
const RESERVE = `${NOW}
${BUMP_FN}
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local ttl = tonumber(ARGV[1])
local sid = ARGV[3]
local p = ARGV[4]
local n = tonumber(ARGV[5])
for i = 1, n do
  local key = KEYS[1 + i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local held = 0
  for _, other in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if other ~= sid then
      if redis.call('HGET', p .. 'session:' .. other, 'state') == 'reserved' then held = held + 1
      else redis.call('ZREM', key, other) end
    end
  end
  if held >= tonumber(ARGV[5 + i]) then return 'limit:' .. i end
end
for c = 6 + n, #ARGV do
  local id = ARGV[c]
  local slots = p .. 'slots:' .. id
  if redis.call('EXISTS', p .. 'alive:' .. id) == 1 then
    local cap = tonumber(redis.call('HGET', p .. 'edge:' .. id, 'capacity') or '0')
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
    if redis.call('ZCARD', slots) < cap then
      redis.call('ZADD', slots, now + ttl, sid)
      redis.call('HSET', KEYS[1], 'data', ARGV[2], 'edgeId', id, 'state', 'reserved')
      redis.call('PEXPIRE', KEYS[1], ttl)
      for i = 1, n do
        redis.call('ZADD', KEYS[1 + i], now + ttl, sid)
        redis.call('PEXPIRE', KEYS[1 + i], ttl)
      end
      bumpSlots(p, id)
      return id
    end
  end
end
return false`;

/** KEYS: session, slots(edge). ARGV: sessionId, edgeId, activeScore. */
const ACTIVATE = `${NOW}
local owner = redis.call('HGET', KEYS[1], 'edgeId')
if not owner then return 'unknown' end
if owner ~= ARGV[2] then return 'wrong-edge' end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) <= now then return 'unknown' end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'active', 'activatedAt', now)
redis.call('PERSIST', KEYS[1])
return 'ok'`;

/**
 * Lua `reconcile(slots, A, o)` — slots: the edge's slots key; A[o]: key prefix, A[o+1]: edgeId, A[o+2]:
 * activatedBefore, A[o+3]: activeScore, then (sessionId, sessionJson) pairs the edge runs. Re-creates the running
 * sessions the store lost, activates this edge's running reservations, releases this edge's active sessions that
 * no longer run (activated before activatedBefore). Returns {restored ids, {id, data, ...} released}. A session
 * the store knows is only looked up (HMGET): its JSON is stored only when it is re-created.
 */
const RECONCILE_FN = `local function reconcile(slots, A, o)
  local p = A[o]
  local edge = A[o + 1]
  local before = tonumber(A[o + 2])
  local score = A[o + 3]
  local runs = {}
  local restored = {}
  for i = o + 4, #A - 1, 2 do
    local sid = A[i]
    runs[sid] = true
    local sk = p .. 'session:' .. sid
    local h = redis.call('HMGET', sk, 'edgeId', 'state')
    if not h[1] then
      redis.call('HSET', sk, 'data', A[i + 1], 'edgeId', edge, 'state', 'active', 'activatedAt', now)
    elseif h[1] == edge and h[2] ~= 'active' then
      redis.call('HSET', sk, 'state', 'active', 'activatedAt', now)
      redis.call('PERSIST', sk)
    end
    if (not h[1]) or (h[1] == edge and h[2] ~= 'active') then
      redis.call('ZADD', slots, score, sid)
      table.insert(restored, sid)
    end
  end
  local released = {}
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', slots, score, '+inf')) do
    if not runs[sid] then
      local sk = p .. 'session:' .. sid
      local h = redis.call('HMGET', sk, 'data', 'activatedAt')
      if not h[1] then
        redis.call('ZREM', slots, sid)
      elseif tonumber(h[2] or '0') < before then
        redis.call('ZREM', slots, sid)
        redis.call('DEL', sk)
        table.insert(released, sid)
        table.insert(released, h[1])
      end
    end
  end
  if #restored > 0 or #released > 0 then bumpSlots(p, edge) end
  return {restored, released}
end`;

/**
 * One round trip per heartbeat: HEARTBEAT_FN, then — if it answered 'ok' and ARGV[6] is '1' — RECONCILE_FN.
 * KEYS: HEARTBEAT_FN's six, then slots(edge). ARGV: HEARTBEAT_FN's five, '1' to reconcile, then RECONCILE_FN's
 * from ARGV[7]. Returns {'ok'|'replay'|'unknown'} or {'ok', restored ids, released pairs}. Every key is declared
 * (and session keys are built from the prefix, a hash tag on a cluster, like RESERVE's): one slot.
 */
const HEARTBEAT_RECONCILE = `${NOW}
${BUMP_FN}
${HEARTBEAT_FN}
${RECONCILE_FN}
local r = heartbeat(KEYS, ARGV)
if r ~= 'ok' or ARGV[6] ~= '1' then return {r} end
local out = reconcile(KEYS[7], ARGV, 7)
return {r, out[1], out[2]}`;

/** KEYS: session. ARGV: sessionId, edgeId or '', slots key prefix, key prefix. */
const RELEASE = `${BUMP_FN}
local h = redis.call('HMGET', KEYS[1], 'data', 'edgeId', 'state')
if not h[1] then return {'unknown'} end
if ARGV[2] ~= '' and h[2] ~= ARGV[2] then return {'wrong-edge'} end
redis.call('ZREM', ARGV[3] .. h[2], ARGV[1])
redis.call('DEL', KEYS[1])
bumpSlots(ARGV[4], h[2])
return {'ok', h[1], h[2], h[3]}`;

/**
 * KEYS: edges, geo, coords. ARGV: key prefix. Drops edges past their deadline with their slots, sessions
 * and coordinates (a registry of ever-seen ids would otherwise grow without bound), leaving a tombstone in the feed.
 * (Builds per-edge and session keys from the prefix — the session ids are only known inside the script — all
 * in the declared keys' slot on a cluster, the prefix being a hash tag there.)
 */
const REAP = `${NOW}
${BUMP_FN}
local p = ARGV[1]
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 200)
local out = {}
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  local slots = p .. 'slots:' .. id
  local sids = redis.call('ZRANGEBYSCORE', slots, now, '+inf')
  local entry = {id}
  for _, sid in ipairs(sids) do
    local sk = p .. 'session:' .. sid
    local h = redis.call('HMGET', sk, 'data', 'state')
    if h[1] then
      table.insert(entry, h[1])
      table.insert(entry, h[2])
    end
    redis.call('DEL', sk)
  end
  redis.call('DEL', slots, p .. 'edge:' .. id, p .. 'load:' .. id, p .. 'alive:' .. id)
  redis.call('ZADD', p .. 'feed:gone', bump(p, id), id)
  redis.call('ZREM', p .. 'feed:slots', id)
  redis.call('ZREM', p .. 'feed:coords', id)
  table.insert(out, entry)
end
${TRIM_GONE}
return out`;

/** The session and edge scripts as ioredis commands. */
export type SessionCommands = {
  mmPutEdge(...args: (string | number)[]): Promise<string>;
  mmReserve(numberOfKeys: number, ...args: (string | number)[]): Promise<string | null>;
  mmActivate(...args: (string | number)[]): Promise<string>;
  mmRelease(...args: (string | number)[]): Promise<string[]>;
  mmReap(...args: (string | number)[]): Promise<string[][]>;
  mmHeartbeatReconcile(...args: (string | number)[]): Promise<[string, string[]?, string[]?]>;
};

/** Registers the matchmaker's Lua scripts on `redis` (each runs atomically on the server). */
export function defineSessionCommands<R extends RedisClient>(redis: R): R & SessionCommands {
  redis.defineCommand('mmPutEdge', { numberOfKeys: 8, lua: PUT_EDGE });
  redis.defineCommand('mmReserve', { lua: RESERVE });
  redis.defineCommand('mmActivate', { numberOfKeys: 2, lua: ACTIVATE });
  redis.defineCommand('mmRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('mmReap', { numberOfKeys: 3, lua: REAP });
  redis.defineCommand('mmHeartbeatReconcile', { numberOfKeys: 7, lua: HEARTBEAT_RECONCILE });
  return redis as R & SessionCommands;
}
