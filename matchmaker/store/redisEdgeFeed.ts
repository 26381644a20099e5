import { randomBytes } from 'node:crypto';
import type { RedisClient } from './createRedisStore.js';
import {
  ACTIVE_SLOT_SCORE,
  type EdgeChanges,
  type EdgeLoad,
  type EdgeRecord,
  type EdgeSlots,
  type EdgeState,
  type StoredCoordinate,
} from './MatchmakerStore.js';

// The Redis store's edge change feed: every script that changes what the registry sees of an edge (PUT_EDGE,
// HEARTBEAT_RECONCILE when the edge's load turns full or not or the edge comes back from a lapse, REAP, PUT_COORDS)
// bumps `feed:ver` and records the edge in the sorted set `feed:changes` at that version (one entry per edge: the
// latest change). Scripts that change only an edge's held slots (RESERVE, RELEASE, HEARTBEAT_RECONCILE when it
// restores or frees a session) record it in `feed:slots` instead, and PUT_COORDS (a coordinate alone) in
// `feed:coords`, at versions of the same counter: the reader gets those edges' slot counts and coordinates from the
// feed script itself, without reading the edges (at thousands of allocations a second nearly every edge changes
// between two refreshes, only in its slots; every heartbeat with peer RTTs moves its edge's coordinate). A reaped
// edge also goes to `feed:gone` (tombstones, trimmed to the newest GONE_KEPT; `feed:floor` = the oldest version
// still complete). `feed:epoch` names one life of the data: after Redis lost it (restart, flush) a reader's cursor
// is from another epoch and it reads everything again. All keys share the store's prefix (a hash tag on a cluster).

/** Tombstones kept: a reader further behind than this many reaped edges reads everything again. */
export const GONE_KEPT = 10_000;

/** Edges per pipeline when reading changed edges (6 commands each: well inside the command timeout). */
export const FEED_PAGE = 500;

/** The feed's keys under the store prefix `p`. */
export function feedKeys(p: string) {
  return {
    ver: `${p}feed:ver`,
    changes: `${p}feed:changes`,
    gone: `${p}feed:gone`,
    floor: `${p}feed:floor`,
    epoch: `${p}feed:epoch`,
    slots: `${p}feed:slots`,
    coords: `${p}feed:coords`,
  };
}

/** Lua: records edge `id` changed; `p` is the key prefix. Scripts that take the prefix use it. */
export const BUMP_FN = `local function bump(p, id)
  local v = redis.call('INCR', p .. 'feed:ver')
  redis.call('ZADD', p .. 'feed:changes', v, id)
  return v
end
local function bumpSlots(p, id)
  redis.call('ZADD', p .. 'feed:slots', redis.call('INCR', p .. 'feed:ver'), id)
end`;

/**
 * KEYS: ver, changes, floor, epoch, slots, coords. ARGV: cursor epoch, cursor version, a new epoch (used if none is
 * set), key prefix, active slot score, then edges to recheck (their reservations expire). Returns {epoch, version,
 * now, 'full'} or {epoch, version, now, 'changes', ids changed after the cursor, slot rows, coordinate rows}: for
 * each edge not among those ids whose slots alone changed after the cursor (or to recheck) `id, held slots,
 * earliest reservation expiry (unix ms) or ''`, for each whose coordinate alone changed `id, coordinate JSON`.
 */
export const FEED = `local __t = redis.call('TIME'); local now = tonumber(__t[1]) * 1000 + math.floor(tonumber(__t[2]) / 1000)
local epoch = redis.call('GET', KEYS[4])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[4], epoch)
end
local ver = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[2]) or -1
local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
if ARGV[1] ~= epoch or since < floor or since > ver then return {epoch, tostring(ver), now, 'full'} end
local after = '(' .. ARGV[2]
local changed = redis.call('ZRANGEBYSCORE', KEYS[2], after, '+inf')
local read = {}
for _, id in ipairs(changed) do read[id] = true end
local coords = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], after, '+inf')) do
  local c = not read[id] and redis.call('HGET', ARGV[4] .. 'coords', id)
  if c then
    coords[#coords + 1] = id
    coords[#coords + 1] = c
  end
end
local rows = {}
local function row(id)
  if read[id] then return end
  read[id] = true
  local slots = ARGV[4] .. 'slots:' .. id
  local first = redis.call('ZRANGEBYSCORE', slots, '(' .. now, '(' .. ARGV[5], 'WITHSCORES', 'LIMIT', 0, 1)
  rows[#rows + 1] = id
  rows[#rows + 1] = redis.call('ZCOUNT', slots, now, '+inf')
  rows[#rows + 1] = first[2] or ''
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], after, '+inf')) do row(id) end
for i = 6, #ARGV do row(ARGV[i]) end
return {epoch, tostring(ver), now, 'changes', changed, rows, coords}`;

/**
 * KEYS: coords, ver, feed coords. ARGV: (edgeId, coordinateJson) pairs. Stores coordinates and records their edges'
 * coordinates changed (other instances adopt them at their next refresh).
 */
export const PUT_COORDS = `for i = 1, #ARGV - 1, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  local v = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[3], v, ARGV[i])
end
return #ARGV / 2`;

/** Lua for REAP (after its loop over dead edges, `out` filled): trims the tombstones to GONE_KEPT. */
export const TRIM_GONE = `local extra = redis.call('ZCARD', p .. 'feed:gone') - ${GONE_KEPT}
if extra > 0 then
  local old = redis.call('ZRANGE', p .. 'feed:gone', 0, extra - 1, 'WITHSCORES')
  for i = 1, #old, 2 do redis.call('ZREM', p .. 'feed:changes', old[i]) end
  redis.call('ZREMRANGEBYRANK', p .. 'feed:gone', 0, extra - 1)
  redis.call('SET', p .. 'feed:floor', tonumber(old[#old]))
end`;

type FeedCommands = {
  mmFeed(
    ...args: (string | number)[]
  ): Promise<[string, string, number, string, string[]?, (string | number)[]?, string[]?]>;
  mmPutCoords(...args: (string | number)[]): Promise<number>;
};

/** Registers the feed's own scripts on `redis`. */
export function defineFeedCommands<R extends RedisClient>(redis: R): R & FeedCommands {
  redis.defineCommand('mmFeed', { numberOfKeys: 6, lua: FEED });
  redis.defineCommand('mmPutCoords', { numberOfKeys: 3, lua: PUT_COORDS });
  return redis as R & FeedCommands;
}

/**
 * `MatchmakerStore.edgeChanges` on Redis: the ids from the feed (or every live edge when a full read is due), then
 * each edge's record, load, held slots, earliest reservation expiry, liveness deadline and coordinate, in
 * pipelines of FEED_PAGE edges; the edges whose slots alone changed (and `recheck`) or coordinate alone changed come
 * with the feed's answer.
 */
export async function readEdgeChanges(
  redis: RedisClient & FeedCommands,
  p: string,
  since: string,
  recheck: readonly string[],
): Promise<EdgeChanges> {
  const keys = feedKeys(p);
  const colon = since.lastIndexOf(':');
  const [sinceEpoch, sinceVersion] = colon < 0 ? ['', '-1'] : [since.slice(0, colon), since.slice(colon + 1)];
  const [epoch, version, now, mode, changed, rows = [], coords = []] = await redis.mmFeed(
    keys.ver,
    keys.changes,
    keys.floor,
    keys.epoch,
    keys.slots,
    keys.coords,
    sinceEpoch,
    sinceVersion,
    randomBytes(8).toString('hex'),
    p,
    ACTIVE_SLOT_SCORE,
    ...recheck,
  );
  const full = mode === 'full';
  const ids = full ? await redis.zrangebyscore(`${p}edges`, now, '+inf') : (changed ?? []);
  const slots: EdgeSlots[] = [];
  for (let i = 0; i + 2 < rows.length; i += 3) {
    const expiry = rows[i + 2];
    slots.push({
      id: String(rows[i]),
      usedSlots: Number(rows[i + 1]),
      ...(expiry === '' ? {} : { slotsExpireInMs: Math.max(0, Number(expiry) - now) }),
    });
  }
  const out: EdgeChanges = {
    cursor: `${epoch}:${version}`,
    full,
    edges: [],
    slots,
    gone: [],
    coordinates: {},
  };
  for (let i = 0; i + 1 < coords.length; i += 2) {
    out.coordinates[coords[i] as string] = JSON.parse(coords[i + 1] as string) as StoredCoordinate;
  }
  for (let start = 0; start < ids.length; start += FEED_PAGE) {
    const page = ids.slice(start, start + FEED_PAGE);
    const pipeline = redis.pipeline();
    for (const id of page) {
      pipeline.hget(`${p}edge:${id}`, 'json');
      pipeline.get(`${p}load:${id}`);
      pipeline.zcount(`${p}slots:${id}`, now, '+inf');
      pipeline.zrangebyscore(
        `${p}slots:${id}`,
        `(${now}`,
        `(${ACTIVE_SLOT_SCORE}`,
        'WITHSCORES',
        'LIMIT',
        0,
        1,
      );
      pipeline.zscore(`${p}edges`, id);
      pipeline.hget(`${p}coords`, id);
    }
    // One page at a time, yielding between them: a big read never holds the event loop (or Redis) for long.
    if (start > 0) await new Promise((r) => setImmediate(r));
    const results = (await pipeline.exec()) ?? [];
    page.forEach((id, i) => {
      const at = (j: number) => {
        const [error, value] = results[6 * i + j] ?? [null, null];
        if (error) throw error;
        return value;
      };
      const json = at(0) as string | null;
      const deadline = at(4) as string | null;
      if (!json || deadline === null || Number(deadline) < now) {
        if (!full) out.gone.push(id);
        return;
      }
      const load = at(1) as string | null;
      const state: EdgeState = {
        edge: JSON.parse(json) as EdgeRecord,
        load: load ? (JSON.parse(load) as EdgeLoad) : null,
        usedSlots: Number(at(2) ?? 0),
      };
      const earliest = at(3) as string[];
      if (earliest.length === 2) state.slotsExpireInMs = Math.max(0, Number(earliest[1]) - now);
      out.edges.push(state);
      const coordinate = at(5) as string | null;
      if (coordinate) out.coordinates[id] = JSON.parse(coordinate) as StoredCoordinate;
    });
  }
  return out;
}
