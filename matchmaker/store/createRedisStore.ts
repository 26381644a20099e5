import { Redis } from 'ioredis';
import { clampGeoLat } from '../geo.js';
import { guardStore } from './guardStore.js';
import {
  ACTIVE_SLOT_SCORE,
  DEMAND_BUCKET_MS,
  type DeadEdge,
  type EdgeLoad,
  type EdgeRecord,
  type EdgeState,
  type MatchmakerStore,
  type SessionData,
  type SessionRecord,
  type StoredCoordinate,
  type StoreEvent,
} from './MatchmakerStore.js';
import { redisGames } from './redisGames.js';

export interface RedisStoreOptions {
  /** redis:// URL (default redis://127.0.0.1:6379). */
  url?: string;
  /** Prefix of every key and the events channel (default 'farplay:mm:'). */
  keyPrefix?: string;
  /**
   * Connection errors (ioredis reconnects by itself; commands meanwhile reject). Default: ignored,
   * instead of ioredis printing each one to the console.
   */
  onError?: (error: Error) => void;
  /** A command that has no answer after this long fails (MM_STORE_UNAVAILABLE); default 1500 ms. */
  commandTimeoutMs?: number;
}

// All scripts read the clock with TIME so that every instance agrees on expiry.
const NOW = `local __t = redis.call('TIME'); local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)`;

/** KEYS: nonce, edge, alive, edges, geo. ARGV: edgeJson, ttlMs, nonceTtlMs, id, lon, lat, capacity. */
const PUT_EDGE = `${NOW}
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 'replay' end
redis.call('HSET', KEYS[2], 'json', ARGV[1], 'capacity', ARGV[7])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), ARGV[4])
redis.call('GEOADD', KEYS[5], ARGV[5], ARGV[6], ARGV[4])
return 'ok'`;

/** KEYS: nonce, edges, alive, load. ARGV: id, loadJson, ttlMs, nonceTtlMs. */
const HEARTBEAT = `${NOW}
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 'unknown' end
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[4]) then return 'replay' end
redis.call('SET', KEYS[4], ARGV[2])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 'ok'`;

/**
 * KEYS: session. ARGV: ttlMs, sessionJson, sessionId, key prefix, edgeIds... Reserves on the first live
 * candidate whose held slots (expired reservations dropped) are below capacity. The per-edge keys
 * (alive, slots, edge) are built here from the prefix, like REAP and RELEASE do (one Redis, not a
 * cluster): one allocation sends 1 key and ~12 arguments instead of 25 keys.
 */
const RESERVE = `${NOW}
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local ttl = tonumber(ARGV[1])
local p = ARGV[4]
for i = 5, #ARGV do
  local id = ARGV[i]
  local slots = p .. 'slots:' .. id
  if redis.call('EXISTS', p .. 'alive:' .. id) == 1 then
    local cap = tonumber(redis.call('HGET', p .. 'edge:' .. id, 'capacity') or '0')
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
    if redis.call('ZCARD', slots) < cap then
      redis.call('ZADD', slots, now + ttl, ARGV[3])
      redis.call('HSET', KEYS[1], 'data', ARGV[2], 'edgeId', id, 'state', 'reserved')
      redis.call('PEXPIRE', KEYS[1], ttl)
      return id
    end
  end
end
return false`;

/**
 * KEYS: hold:<holder>... ARGV: sessionId, ttlMs, session key prefix, max per KEY... A holder's earlier
 * sessions count while their session hash says 'reserved' (expired, started or ended ones are dropped);
 * returns the 1-based index of the first holder at its limit (nothing recorded), or 0 when all took it.
 */
const HOLD = `${NOW}
local sid = ARGV[1]
local ttl = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local held = 0
  for _, other in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if other ~= sid then
      if redis.call('HGET', ARGV[3] .. other, 'state') == 'reserved' then held = held + 1
      else redis.call('ZREM', key, other) end
    end
  end
  if held >= tonumber(ARGV[3 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, sid)
  redis.call('PEXPIRE', key, ttl)
end
return 0`;

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
 * KEYS: slots(edge). ARGV: key prefix, edgeId, activatedBefore, activeScore, then (sessionId, sessionJson)
 * pairs the edge runs. Re-creates the running sessions the store lost, activates this edge's running
 * reservations, releases this edge's active sessions that no longer run (activated before activatedBefore).
 * Returns {restored ids, {id, data, ...} released}.
 */
const RECONCILE = `${NOW}
local p = ARGV[1]
local edge = ARGV[2]
local before = tonumber(ARGV[3])
local score = ARGV[4]
local runs = {}
local restored = {}
for i = 5, #ARGV - 1, 2 do
  local sid = ARGV[i]
  runs[sid] = true
  local sk = p .. 'session:' .. sid
  local h = redis.call('HMGET', sk, 'edgeId', 'state')
  if not h[1] then
    redis.call('HSET', sk, 'data', ARGV[i + 1], 'edgeId', edge, 'state', 'active', 'activatedAt', now)
  elseif h[1] == edge and h[2] ~= 'active' then
    redis.call('HSET', sk, 'state', 'active', 'activatedAt', now)
    redis.call('PERSIST', sk)
  end
  if (not h[1]) or (h[1] == edge and h[2] ~= 'active') then
    redis.call('ZADD', KEYS[1], score, sid)
    table.insert(restored, sid)
  end
end
local released = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], score, '+inf')) do
  if not runs[sid] then
    local sk = p .. 'session:' .. sid
    local h = redis.call('HMGET', sk, 'data', 'activatedAt')
    if not h[1] then
      redis.call('ZREM', KEYS[1], sid)
    elseif tonumber(h[2] or '0') < before then
      redis.call('ZREM', KEYS[1], sid)
      redis.call('DEL', sk)
      table.insert(released, sid)
      table.insert(released, h[1])
    end
  end
end
return {restored, released}`;

/** KEYS: session. ARGV: sessionId, edgeId or '', slots key prefix. */
const RELEASE = `
local h = redis.call('HMGET', KEYS[1], 'data', 'edgeId', 'state')
if not h[1] then return {'unknown'} end
if ARGV[2] ~= '' and h[2] ~= ARGV[2] then return {'wrong-edge'} end
redis.call('ZREM', ARGV[3] .. h[2], ARGV[1])
redis.call('DEL', KEYS[1])
return {'ok', h[1], h[2], h[3]}`;

/**
 * KEYS: edges, geo, coords. ARGV: key prefix. Drops edges past their deadline with their slots, sessions
 * and coordinates (a registry of ever-seen ids would otherwise grow without bound).
 * (Builds per-edge keys from the prefix: fine on one Redis, not on a cluster.)
 */
const REAP = `${NOW}
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
  table.insert(out, entry)
end
return out`;

type Commands = {
  mmPutEdge(...args: (string | number)[]): Promise<string>;
  mmHeartbeat(...args: (string | number)[]): Promise<string>;
  mmReserve(...args: (string | number)[]): Promise<string | null>;
  mmActivate(...args: (string | number)[]): Promise<string>;
  mmHold(numberOfKeys: number, ...args: (string | number)[]): Promise<number>;
  mmRelease(...args: (string | number)[]): Promise<string[]>;
  mmReap(...args: (string | number)[]): Promise<string[][]>;
  mmReconcile(...args: (string | number)[]): Promise<[string[], string[]]>;
};

function defineCommands(redis: Redis): Redis & Commands {
  redis.defineCommand('mmPutEdge', { numberOfKeys: 5, lua: PUT_EDGE });
  redis.defineCommand('mmHeartbeat', { numberOfKeys: 4, lua: HEARTBEAT });
  redis.defineCommand('mmReserve', { numberOfKeys: 1, lua: RESERVE });
  redis.defineCommand('mmActivate', { numberOfKeys: 2, lua: ACTIVATE });
  redis.defineCommand('mmHold', { lua: HOLD });
  redis.defineCommand('mmRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('mmReap', { numberOfKeys: 3, lua: REAP });
  redis.defineCommand('mmReconcile', { numberOfKeys: 1, lua: RECONCILE });
  return redis as Redis & Commands;
}

function toRecord(data: string, edgeId: string, state: string | null | undefined): SessionRecord {
  const d = JSON.parse(data) as SessionData;
  return { ...d, edgeId, state: state === 'active' ? 'active' : 'reserved' };
}

/** The Redis store (ioredis): several matchmaker instances share it. Liveness is TTL keys, location GEO. */
export function createRedisStore(options: RedisStoreOptions = {}): MatchmakerStore {
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const p = options.keyPrefix ?? 'farplay:mm:';
  const onError = options.onError ?? (() => {});
  // Fail fast while Redis is away: no offline queue once connected (a command then fails at once) and a
  // short timeout for a server that hangs; the store turns either into MM_STORE_UNAVAILABLE.
  const redis = defineCommands(
    new Redis(url, {
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
      commandTimeout: options.commandTimeoutMs ?? 1500,
      connectTimeout: 2000,
    }),
  );
  redis.on('error', onError);
  // Until the first connection, commands wait for it (start-up); afterwards they fail fast.
  redis.once('ready', () => {
    redis.options.enableOfflineQueue = false;
  });
  let subscriber: Redis | undefined;
  const listeners = new Set<(e: StoreEvent) => void>();
  let closed = false;
  const k = {
    nonce: (edgeId: string, nonce: string) => `${p}nonce:${edgeId}:${nonce}`,
    edge: (id: string) => `${p}edge:${id}`,
    alive: (id: string) => `${p}alive:${id}`,
    load: (id: string) => `${p}load:${id}`,
    slots: (id: string) => `${p}slots:${id}`,
    session: (sid: string) => `${p}session:${sid}`,
    hold: (holder: string) => `${p}hold:${holder}`,
    edges: `${p}edges`,
    geo: `${p}geo`,
    coords: `${p}coords`,
    demand: (region: string, bucket: number) => `${p}demand:${region}:${bucket}`,
    channel: `${p}events`,
  };

  return guardStore({
    kind: 'redis',
    get closed() {
      return closed;
    },
    async putEdge(edge: EdgeRecord, nonce, ttlMs, nonceTtlMs) {
      const result = await redis.mmPutEdge(
        k.nonce(edge.id, nonce),
        k.edge(edge.id),
        k.alive(edge.id),
        k.edges,
        k.geo,
        JSON.stringify(edge),
        ttlMs,
        nonceTtlMs,
        edge.id,
        edge.lon,
        clampGeoLat(edge.lat),
        edge.capacity,
      );
      return result === 'ok' ? 'ok' : 'replay';
    },
    async heartbeat(edgeId, load: EdgeLoad, nonce, ttlMs, nonceTtlMs) {
      const result = await redis.mmHeartbeat(
        k.nonce(edgeId, nonce),
        k.edges,
        k.alive(edgeId),
        k.load(edgeId),
        edgeId,
        JSON.stringify(load),
        ttlMs,
        nonceTtlMs,
      );
      return result as 'ok' | 'replay' | 'unknown';
    },
    async claimNonce(edgeId, nonce, ttlMs) {
      return (await redis.set(k.nonce(edgeId, nonce), '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    async listEdges() {
      const [seconds, micros] = await redis.time();
      const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const ids = await redis.zrangebyscore(k.edges, nowMs, '+inf');
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) {
        pipeline.hget(k.edge(id), 'json');
        pipeline.get(k.load(id));
        pipeline.zcount(k.slots(id), nowMs, '+inf');
      }
      const results = (await pipeline.exec()) ?? [];
      const out: EdgeState[] = [];
      for (let i = 0; i < ids.length; i++) {
        const json = results[3 * i]?.[1] as string | null;
        if (!json) continue;
        const load = results[3 * i + 1]?.[1] as string | null;
        out.push({
          edge: JSON.parse(json) as EdgeRecord,
          load: load ? (JSON.parse(load) as EdgeLoad) : null,
          usedSlots: Number(results[3 * i + 2]?.[1] ?? 0),
        });
      }
      return out;
    },
    async edgesNear(lat, lon, radiusKm, limit) {
      const ids = (await redis.geosearch(
        k.geo,
        'FROMLONLAT',
        lon,
        clampGeoLat(lat),
        'BYRADIUS',
        radiusKm,
        'km',
        'ASC',
        'COUNT',
        limit,
      )) as string[];
      if (ids.length === 0) return [];
      // GEO entries leave on reap; the liveness key is the authority in between.
      const alive = await redis.mget(ids.map((id) => k.alive(id)));
      return ids.filter((_, i) => alive[i] !== null);
    },
    async reserve({ candidates, session, reservationTtlMs }) {
      if (candidates.length === 0) return null;
      const edgeId = await redis.mmReserve(
        k.session(session.sessionId),
        reservationTtlMs,
        JSON.stringify(session),
        session.sessionId,
        p,
        ...candidates,
      );
      return edgeId ? { ...structuredClone(session), edgeId, state: 'reserved' } : null;
    },
    async holdReservation(sessionId, limits, ttlMs) {
      if (limits.length === 0) return null;
      const i = await redis.mmHold(
        limits.length,
        ...limits.map((l) => k.hold(l.holder)),
        sessionId,
        ttlMs,
        `${p}session:`,
        ...limits.map((l) => l.max),
      );
      return i > 0 ? (limits[i - 1]?.holder ?? null) : null;
    },
    async activate(sessionId, edgeId) {
      const r = await redis.mmActivate(
        k.session(sessionId),
        k.slots(edgeId),
        sessionId,
        edgeId,
        ACTIVE_SLOT_SCORE,
      );
      return r as 'ok' | 'unknown' | 'wrong-edge';
    },
    async release(sessionId, edgeId) {
      const r = await redis.mmRelease(k.session(sessionId), sessionId, edgeId ?? '', `${p}slots:`);
      if (r[0] !== 'ok') return r[0] as 'unknown' | 'wrong-edge';
      return toRecord(r[1] as string, r[2] as string, r[3]);
    },
    async getSession(sessionId) {
      const h = await redis.hmget(k.session(sessionId), 'data', 'edgeId', 'state');
      if (!h[0] || !h[1]) return null;
      return toRecord(h[0], h[1], h[2]);
    },
    async reconcileSessions(edgeId, running, activatedBefore) {
      const pairs = running.flatMap((d) => [d.sessionId, JSON.stringify(d)]);
      const [restored, released] = await redis.mmReconcile(
        k.slots(edgeId),
        p,
        edgeId,
        activatedBefore,
        ACTIVE_SLOT_SCORE,
        ...pairs,
      );
      const records: SessionRecord[] = [];
      for (let i = 0; i + 1 < released.length; i += 2) {
        records.push(toRecord(released[i + 1] as string, edgeId, 'active'));
      }
      return { restored, released: records };
    },
    async reapDeadEdges() {
      const rows = await redis.mmReap(k.edges, k.geo, k.coords, p);
      return rows.map((row): DeadEdge => {
        const [edgeId, ...rest] = row as [string, ...string[]];
        const sessions: SessionRecord[] = [];
        for (let i = 0; i + 1 < rest.length; i += 2) {
          sessions.push(toRecord(rest[i] as string, edgeId, rest[i + 1]));
        }
        return { edgeId, sessions };
      });
    },
    async addDemand(counts) {
      const entries = Object.entries(counts);
      if (entries.length === 0) return;
      const bucket = Math.floor(Date.now() / DEMAND_BUCKET_MS);
      const multi = redis.multi();
      for (const [region, n] of entries) {
        multi.incrby(k.demand(region, bucket), n);
        multi.pexpire(k.demand(region, bucket), 15 * 60_000);
      }
      await multi.exec();
    },
    async demand(regions, windowMs) {
      if (regions.length === 0) return {};
      const last = Math.floor(Date.now() / DEMAND_BUCKET_MS);
      const n = Math.max(1, Math.ceil(windowMs / DEMAND_BUCKET_MS));
      const keys: string[] = [];
      for (const region of regions) for (let b = last - n + 1; b <= last; b++) keys.push(k.demand(region, b));
      const values = await redis.mget(keys);
      const out: Record<string, number> = {};
      regions.forEach((region, i) => {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += Number(values[i * n + j] ?? 0);
        out[region] = sum;
      });
      return out;
    },
    async putCoordinates(map) {
      const entries = Object.entries(map);
      if (entries.length === 0) return;
      await redis.hset(k.coords, Object.fromEntries(entries.map(([id, c]) => [id, JSON.stringify(c)])));
    },
    async getCoordinates() {
      const all = await redis.hgetall(k.coords);
      return Object.fromEntries(
        Object.entries(all).map(([id, json]) => [id, JSON.parse(json) as StoredCoordinate]),
      );
    },
    ...redisGames(redis, p),
    async publish(event) {
      await redis.publish(k.channel, JSON.stringify(event));
    },
    subscribe(listener) {
      if (!subscriber) {
        // Its own connection keeps the offline queue: SUBSCRIBE waits for it (and resubscribes after a drop).
        subscriber = redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
        subscriber.on('error', onError);
        subscriber.on('message', (_channel: string, message: string) => {
          let event: StoreEvent;
          try {
            event = JSON.parse(message) as StoreEvent;
          } catch {
            return;
          }
          for (const l of listeners) {
            try {
              l(event);
            } catch {
              // one subscriber's failure must not stop delivery to the others
            }
          }
        });
        void subscriber.subscribe(k.channel).catch(() => {});
      }
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      subscriber?.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  });
}

/** Deletes every key under `keyPrefix` (tests and benches clean up with it). */
export async function deleteRedisPrefix(url: string, keyPrefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
