import { Cluster, Redis } from 'ioredis';
import { clampGeoLat } from '../geo.js';
import { guardStore } from './guardStore.js';
import {
  ACTIVE_SLOT_SCORE,
  DEMAND_BUCKET_MS,
  type DeadEdge,
  type EdgeLoad,
  type EdgeRecord,
  type EdgeState,
  type HeartbeatReconciled,
  type MatchmakerStore,
  type SessionData,
  type SessionRecord,
  type StoredCoordinate,
  type StoreEvent,
} from './MatchmakerStore.js';
import { defineFeedCommands, feedKeys, readEdgeChanges } from './redisEdgeFeed.js';
import { redisGames } from './redisGames.js';
import { defineSessionCommands } from './redisSessionScripts.js';

/** A Redis Cluster node to start from (any few of the cluster's nodes; the client finds the rest). */
export interface RedisClusterNode {
  host: string;
  port: number;
}

export interface RedisStoreOptions {
  /** redis:// URL (default redis://127.0.0.1:6379); ignored with `cluster`. */
  url?: string;
  /** Redis Cluster start-up nodes: the store runs on the cluster instead of one Redis at `url`. */
  cluster?: readonly RedisClusterNode[];
  /**
   * Prefix of every key and the events channel (default 'farplay:mm:'). On a cluster the store's keys go under
   * a hash tag (`{farplay:mm:}edge:…`, or the prefix as given if it already holds one), so every key a script
   * touches is in one slot; the per-address rate-limit counters stay outside it and spread over the cluster.
   */
  keyPrefix?: string;
  /**
   * Connection errors (ioredis reconnects by itself; commands meanwhile reject). Default: ignored,
   * instead of ioredis printing each one to the console.
   */
  onError?: (error: Error) => void;
  /** A command that has no answer after this long fails (MM_STORE_UNAVAILABLE); default 1500 ms. */
  commandTimeoutMs?: number;
}

function toRecord(data: string, edgeId: string, state: string | null | undefined): SessionRecord {
  const d = JSON.parse(data) as SessionData;
  return { ...d, edgeId, state: state === 'active' ? 'active' : 'reserved' };
}

/**
 * The key prefix the store's keys use: on a cluster, `prefix` inside a hash tag (`{prefix}`) unless it already
 * has one — Redis Cluster hashes only the tag, so all of one deployment's keys share a slot and every script
 * (reserve, reap, release, reconcile, games) stays atomic. On one Redis the prefix as given (keys unchanged).
 */
export function storeKeyPrefix(prefix: string, cluster: boolean): string {
  return !cluster || /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

/** An ioredis client on one Redis or a cluster (the store and its helpers take either). */
export type RedisClient = Redis | Cluster;

/** Connects to `url`, or to the cluster `nodes` when given, with the store's fail-fast settings. */
export function connectRedis(
  url: string,
  nodes: readonly RedisClusterNode[] | undefined,
  commandTimeoutMs = 1500,
): RedisClient {
  // Fail fast while Redis is away: no offline queue once connected (a command then fails at once) and a
  // short timeout for a server that hangs; the store turns either into MM_STORE_UNAVAILABLE.
  const common = { maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs, connectTimeout: 2000 };
  if (nodes && nodes.length > 0) {
    return new Cluster([...nodes], { enableAutoPipelining: true, redisOptions: common });
  }
  return new Redis(url, { ...common, enableAutoPipelining: true });
}

/** The Redis store (ioredis): several matchmaker instances share it. Liveness is TTL keys, location GEO. */
export function createRedisStore(options: RedisStoreOptions = {}): MatchmakerStore {
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const onCluster = (options.cluster?.length ?? 0) > 0;
  const plain = options.keyPrefix ?? 'farplay:mm:';
  const p = storeKeyPrefix(plain, onCluster);
  const onError = options.onError ?? (() => {});
  const redis = defineFeedCommands(
    defineSessionCommands(connectRedis(url, options.cluster, options.commandTimeoutMs)),
  );
  redis.on('error', onError);
  // Until the first connection, commands wait for it (start-up); afterwards they fail fast.
  redis.once('ready', () => {
    redis.options.enableOfflineQueue = false;
  });
  let subscriber: RedisClient | undefined;
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
    feed: feedKeys(p),
  };

  /** The heartbeat, and the reconciliation when asked: one script (HEARTBEAT_RECONCILE), one round trip. */
  const heartbeatAndReconcile: MatchmakerStore['heartbeatAndReconcile'] = async (
    edgeId,
    load,
    nonce,
    ttlMs,
    nonceTtlMs,
    reconcile,
  ) => {
    const [result, restored = [], released = []] = await redis.mmHeartbeatReconcile(
      k.nonce(edgeId, nonce),
      k.edges,
      k.alive(edgeId),
      k.load(edgeId),
      k.feed.ver,
      k.feed.changes,
      k.slots(edgeId),
      edgeId,
      JSON.stringify(load),
      ttlMs,
      nonceTtlMs,
      load.freeSlots <= 0 ? '1' : '0',
      reconcile ? '1' : '0',
      p,
      edgeId,
      reconcile?.activatedBefore ?? 0,
      ACTIVE_SLOT_SCORE,
      ...(reconcile?.running.flatMap((r) => [r.sessionId, r.json]) ?? []),
    );
    const records: SessionRecord[] = [];
    for (let i = 0; i + 1 < released.length; i += 2) {
      records.push(toRecord(released[i + 1] as string, edgeId, 'active'));
    }
    return { result: result as HeartbeatReconciled['result'], restored, released: records };
  };

  return guardStore({
    kind: 'redis',
    // One key per client address, touched alone: outside the hash tag, so on a cluster they spread.
    sharedCounters: { redis, keyPrefix: `${plain.replace(/[{}]/g, '')}rl:` },
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
        k.feed.ver,
        k.feed.changes,
        k.feed.gone,
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
    async heartbeat(edgeId, load, nonce, ttlMs, nonceTtlMs) {
      return (await heartbeatAndReconcile(edgeId, load, nonce, ttlMs, nonceTtlMs)).result;
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
    edgeChanges(since, recheck = []) {
      return readEdgeChanges(redis, p, since, recheck);
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
    async reserve({ candidates, session, reservationTtlMs, holds = [] }) {
      if (candidates.length === 0) return null;
      const answer = await redis.mmReserve(
        1 + holds.length,
        k.session(session.sessionId),
        ...holds.map((l) => k.hold(l.holder)),
        reservationTtlMs,
        JSON.stringify(session),
        session.sessionId,
        p,
        holds.length,
        ...holds.map((l) => l.max),
        ...candidates,
      );
      if (!answer) return null;
      if (answer.startsWith('limit:')) return { overLimit: holds[Number(answer.slice(6)) - 1]?.holder ?? '' };
      // A shallow copy (structuredClone cost ~10 µs per allocation): the session is the caller's, made for this call.
      return { ...session, player: { ...session.player }, edgeId: answer, state: 'reserved' };
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
      const r = await redis.mmRelease(k.session(sessionId), sessionId, edgeId ?? '', `${p}slots:`, p);
      if (r[0] !== 'ok') return r[0] as 'unknown' | 'wrong-edge';
      return toRecord(r[1] as string, r[2] as string, r[3]);
    },
    async getSession(sessionId) {
      const h = await redis.hmget(k.session(sessionId), 'data', 'edgeId', 'state');
      if (!h[0] || !h[1]) return null;
      return toRecord(h[0], h[1], h[2]);
    },
    heartbeatAndReconcile,
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
      await redis.mmPutCoords(
        k.coords,
        k.feed.ver,
        k.feed.coords,
        ...entries.flatMap(([id, c]) => [id, JSON.stringify(c)]),
      );
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
        subscriber =
          redis instanceof Cluster
            ? new Cluster([...(options.cluster ?? [])], { enableOfflineQueue: true })
            : redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
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

/**
 * Deletes every key under `keyPrefix` (tests and benches clean up with it): on one Redis at `url`, or on every
 * master of the cluster `nodes` (the store's hash-tagged keys and the counters outside the tag alike).
 */
export async function deleteRedisPrefix(
  url: string,
  keyPrefix: string,
  nodes?: readonly RedisClusterNode[],
): Promise<void> {
  const client =
    nodes && nodes.length > 0
      ? new Cluster([...nodes], { redisOptions: { maxRetriesPerRequest: 2 } })
      : new Redis(url, { maxRetriesPerRequest: 2 });
  const plain = keyPrefix.replace(/[{}]/g, '');
  const patterns = [...new Set([`${keyPrefix}*`, `{${plain}}*`, `${plain}*`])];
  try {
    if (client instanceof Cluster) await new Promise<void>((r) => client.once('ready', () => r()));
    const servers = client instanceof Cluster ? client.nodes('master') : [client];
    for (const server of servers) {
      for (const pattern of patterns) {
        let cursor = '0';
        do {
          const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          // One key per DEL: on a cluster the keys of one page may sit in different slots.
          for (const key of keys) await client.del(key);
        } while (cursor !== '0');
      }
    }
  } finally {
    client.disconnect();
  }
}
