import type { RedisClient } from './createRedisStore.js';
import type { GameChange, GameVersions, MatchmakerStore, PublishedGame } from './MatchmakerStore.js';

// Keys (under the store's prefix): games (hash id → live version JSON, what the catalogue reads),
// gameowners (id → studio), gameseq (id → last version number), gamepins (id → pinned version),
// gameversions:<id> (version → JSON). Every change is one script, so instances never disagree.

/** Lua: the highest version in hash `key`, or nil. */
const LATEST = `
local function latest(key)
  local best = nil
  for _, v in ipairs(redis.call('HKEYS', key)) do
    local n = tonumber(v)
    if best == nil or n > best then best = n end
  end
  return best
end
local function serveLive(games, versions, pins, id)
  local pin = redis.call('HGET', pins, id)
  local v = pin or latest(versions)
  if v then
    redis.call('HSET', games, id, redis.call('HGET', versions, tostring(v)))
  else
    redis.call('HDEL', games, id)
  end
end`;

/** KEYS: owners, games, versions(id), seq, pins. ARGV: id, studio, json (without version). */
const PUT_GAME = `
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local v = redis.call('HINCRBY', KEYS[4], ARGV[1], 1)
local json = string.sub(ARGV[3], 1, -2) .. ',"version":' .. v .. '}'
redis.call('HSET', KEYS[3], tostring(v), json)
if redis.call('HEXISTS', KEYS[5], ARGV[1]) == 0 then redis.call('HSET', KEYS[2], ARGV[1], json) end
return v`;

/** KEYS: owners, games, versions(id), pins. ARGV: id, studio, version ('' unpins). */
const PIN_GAME = `${LATEST}
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if not owner then return 'unknown' end
if owner ~= ARGV[2] then return 'forbidden' end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[4], ARGV[1])
else
  if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then return 'unknown' end
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
end
serveLive(KEYS[2], KEYS[3], KEYS[4], ARGV[1])
return 'ok'`;

/** KEYS: owners, games, versions(id), pins. ARGV: id, studio, version ('' = every version). */
const UNPUBLISH_GAME = `${LATEST}
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if not owner then return 'unknown' end
if owner ~= ARGV[2] then return 'forbidden' end
if ARGV[3] == '' then
  if redis.call('EXISTS', KEYS[3]) == 0 then return 'unknown' end
  redis.call('DEL', KEYS[3])
  redis.call('HDEL', KEYS[4], ARGV[1])
else
  if redis.call('HDEL', KEYS[3], ARGV[3]) == 0 then return 'unknown' end
  if redis.call('HGET', KEYS[4], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[4], ARGV[1]) end
end
serveLive(KEYS[2], KEYS[3], KEYS[4], ARGV[1])
return 'ok'`;

type GameCommands = {
  mmPutGame(...args: (string | number)[]): Promise<number>;
  mmPinGame(...args: (string | number)[]): Promise<string>;
  mmUnpublishGame(...args: (string | number)[]): Promise<string>;
};

/** The MatchmakerStore's game methods on Redis (`p` is the store's key prefix). */
export function redisGames(
  client: RedisClient,
  p: string,
): Pick<MatchmakerStore, 'putGame' | 'listGames' | 'gameVersions' | 'pinGame' | 'unpublishGame'> {
  client.defineCommand('mmPutGame', { numberOfKeys: 5, lua: PUT_GAME });
  client.defineCommand('mmPinGame', { numberOfKeys: 4, lua: PIN_GAME });
  client.defineCommand('mmUnpublishGame', { numberOfKeys: 4, lua: UNPUBLISH_GAME });
  const redis = client as RedisClient & GameCommands;
  const k = {
    games: `${p}games`,
    owners: `${p}gameowners`,
    seq: `${p}gameseq`,
    pins: `${p}gamepins`,
    versions: (id: string) => `${p}gameversions:${id}`,
  };
  return {
    async putGame(game) {
      const { version: _version, ...rest } = game;
      const r = await redis.mmPutGame(
        k.owners,
        k.games,
        k.versions(game.game.id),
        k.seq,
        k.pins,
        game.game.id,
        game.studio,
        JSON.stringify(rest),
      );
      return r < 0 ? 'forbidden' : r;
    },
    async listGames() {
      return Object.values(await redis.hgetall(k.games)).map((json) => JSON.parse(json) as PublishedGame);
    },
    async gameVersions(gameId): Promise<GameVersions | null> {
      const [studio, pin, all, live] = await Promise.all([
        redis.hget(k.owners, gameId),
        redis.hget(k.pins, gameId),
        redis.hgetall(k.versions(gameId)),
        redis.hget(k.games, gameId),
      ]);
      if (!studio) return null;
      const versions = Object.values(all)
        .map((json) => JSON.parse(json) as PublishedGame)
        .sort((a, b) => (a.version ?? 0) - (b.version ?? 0));
      return {
        studio,
        versions,
        pinned: pin ? Number(pin) : null,
        live: live ? ((JSON.parse(live) as PublishedGame).version ?? null) : null,
      };
    },
    async pinGame(gameId, studio, version) {
      const args = [k.owners, k.games, k.versions(gameId), k.pins, gameId, studio, version ?? ''];
      return (await redis.mmPinGame(...args)) as GameChange;
    },
    async unpublishGame(gameId, studio, version) {
      const args = [k.owners, k.games, k.versions(gameId), k.pins, gameId, studio, version ?? ''];
      return (await redis.mmUnpublishGame(...args)) as GameChange;
    },
  };
}
