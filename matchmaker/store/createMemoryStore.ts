import { EventEmitter } from 'node:events';
import { copyCoordinate } from '../coordinates.js';
import { EARTH_RADIUS_KM, unitVector } from '../geo.js';
import {
  DEMAND_BUCKET_MS,
  type DeadEdge,
  type EdgeLoad,
  type EdgeRecord,
  type EdgeState,
  type HoldLimit,
  type MatchmakerStore,
  type ReserveParameters,
  type SessionData,
  type SessionRecord,
  type StoredCoordinate,
  type StoreEvent,
} from './MatchmakerStore.js';
import { MemoryGames } from './MemoryGames.js';

export interface MemoryStoreOptions {
  /** Clock, unix ms (default Date.now); tests move it. */
  now?: () => number;
}

/**
 * The in-process store (the default: `npm start` needs nothing else). Every method runs to completion
 * without awaiting in the middle, which makes each change atomic in one process.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MatchmakerStore {
  const now = options.now ?? Date.now;
  const edges = new Map<
    string,
    { edge: EdgeRecord; deadline: number; load: EdgeLoad | null; unit: number[] }
  >();
  /** edgeId → sessionId → expiry (ms; ACTIVE = Infinity). */
  const slots = new Map<string, Map<string, number>>();
  /** Earliest reservation expiry per edge: expired slots are only looked for once one can exist. */
  const nextExpiry = new Map<string, number>();
  const sessions = new Map<string, { record: SessionRecord; expiresAt: number }>();
  /** holder → session id → hold expiry (ms): unconnected reservations per session key / client address. */
  const holdsOf = new Map<string, Map<string, number>>();
  const nonces = new Map<string, number>();
  const demandBuckets = new Map<string, number>();
  const coordinates = new Map<string, StoredCoordinate>();
  const games = new MemoryGames();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let closed = false;
  let lastSweep = 0;

  function sweepNonces(t: number): void {
    if (t - lastSweep < 5_000) return;
    lastSweep = t;
    for (const [key, expiry] of nonces) if (expiry <= t) nonces.delete(key);
    for (const [key, s] of sessions) if (s.expiresAt <= t) sessions.delete(key);
    for (const [holder, held] of holdsOf) {
      for (const [sid, expiry] of held) if (expiry <= t || !getLiveSession(sid, t)) held.delete(sid);
      if (held.size === 0) holdsOf.delete(holder);
    }
    const oldest = Math.floor(t / DEMAND_BUCKET_MS) - 60;
    for (const key of demandBuckets.keys()) {
      if (Number(key.slice(key.lastIndexOf('|') + 1)) < oldest) demandBuckets.delete(key);
    }
  }

  /** The first holder already at its cap of unconnected reservations (stale entries dropped), if any. */
  function overLimit(sessionId: string, limits: readonly HoldLimit[], t: number): string | undefined {
    sweepNonces(t);
    for (const { holder, max } of limits) {
      const held = holdsOf.get(holder);
      if (!held) continue;
      for (const [sid, expiry] of held) {
        if (sid !== sessionId && (expiry <= t || getLiveSession(sid, t)?.state !== 'reserved'))
          held.delete(sid);
      }
      if (held.size - (held.has(sessionId) ? 1 : 0) >= max) return holder;
    }
    return undefined;
  }

  function claim(key: string, ttlMs: number, t: number): boolean {
    sweepNonces(t);
    const expiry = nonces.get(key);
    if (expiry !== undefined && expiry > t) return false;
    nonces.set(key, t + ttlMs);
    return true;
  }

  function liveSlots(edgeId: string, t: number): Map<string, number> {
    let m = slots.get(edgeId);
    if (!m) {
      m = new Map();
      slots.set(edgeId, m);
    }
    if ((nextExpiry.get(edgeId) ?? Number.POSITIVE_INFINITY) <= t) {
      let earliest = Number.POSITIVE_INFINITY;
      for (const [sid, expiry] of m) {
        if (expiry <= t) m.delete(sid);
        else if (expiry < earliest) earliest = expiry;
      }
      nextExpiry.set(edgeId, earliest);
    }
    return m;
  }

  function isLive(edgeId: string, t: number): boolean {
    const e = edges.get(edgeId);
    return e !== undefined && e.deadline > t;
  }

  function getLiveSession(sessionId: string, t: number): SessionRecord | null {
    const s = sessions.get(sessionId);
    if (!s) return null;
    if (s.expiresAt <= t) {
      sessions.delete(sessionId);
      return null;
    }
    return s.record;
  }

  const store: MatchmakerStore = {
    kind: 'memory',
    get closed() {
      return closed;
    },
    async putEdge(edge, nonce, ttlMs, nonceTtlMs) {
      const t = now();
      if (!claim(`${edge.id}|${nonce}`, nonceTtlMs, t)) return 'replay';
      const previous = edges.get(edge.id);
      edges.set(edge.id, {
        edge: structuredClone(edge),
        deadline: t + ttlMs,
        load: previous?.load ?? null,
        unit: unitVector(edge.lat, edge.lon),
      });
      return 'ok';
    },
    async heartbeat(edgeId, load, nonce, ttlMs, nonceTtlMs) {
      const t = now();
      const e = edges.get(edgeId);
      if (!e) return 'unknown';
      if (!claim(`${edgeId}|${nonce}`, nonceTtlMs, t)) return 'replay';
      e.load = { ...load };
      e.deadline = t + ttlMs;
      return 'ok';
    },
    async claimNonce(edgeId, nonce, ttlMs) {
      return claim(`${edgeId}|${nonce}`, ttlMs, now());
    },
    async listEdges() {
      const t = now();
      const out: EdgeState[] = [];
      for (const [id, e] of edges) {
        if (e.deadline <= t) continue;
        out.push({ edge: e.edge, load: e.load, usedSlots: liveSlots(id, t).size });
      }
      return out;
    },
    async edgeChanges() {
      // In process, reading every edge is cheap (no copies, no round trips): every read is a full one.
      return {
        cursor: '',
        full: true,
        edges: await store.listEdges(),
        slots: [],
        gone: [],
        coordinates: await store.getCoordinates(),
      };
    },
    async edgesNear(lat, lon, radiusKm, limit) {
      const t = now();
      // Compare chord lengths on the unit sphere (no trigonometry per edge): same order as distance.
      const [x, y, z] = unitVector(lat, lon) as [number, number, number];
      const maxChord2 = (2 * Math.sin(Math.min(Math.PI, radiusKm / EARTH_RADIUS_KM) / 2)) ** 2;
      const hits: { id: string; d2: number }[] = [];
      for (const [id, e] of edges) {
        if (e.deadline <= t) continue;
        const dx = x - (e.unit[0] as number);
        const dy = y - (e.unit[1] as number);
        const dz = z - (e.unit[2] as number);
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 <= maxChord2) hits.push({ id, d2 });
      }
      hits.sort((a, b) => a.d2 - b.d2);
      return hits.slice(0, limit).map((h) => h.id);
    },
    async reserve({ candidates, session, reservationTtlMs, holds = [] }: ReserveParameters) {
      const t = now();
      if (getLiveSession(session.sessionId, t)) return null;
      const over = overLimit(session.sessionId, holds, t);
      if (over !== undefined) return { overLimit: over };
      for (const edgeId of candidates) {
        if (!isLive(edgeId, t)) continue;
        const capacity = edges.get(edgeId)?.edge.capacity ?? 0;
        const held = liveSlots(edgeId, t);
        if (held.size >= capacity) continue;
        held.set(session.sessionId, t + reservationTtlMs);
        nextExpiry.set(
          edgeId,
          Math.min(nextExpiry.get(edgeId) ?? Number.POSITIVE_INFINITY, t + reservationTtlMs),
        );
        const record: SessionRecord = { ...copySession(session), edgeId, state: 'reserved' };
        sessions.set(session.sessionId, { record, expiresAt: t + reservationTtlMs });
        for (const { holder } of holds) {
          let list = holdsOf.get(holder);
          if (!list) {
            list = new Map();
            holdsOf.set(holder, list);
          }
          list.set(session.sessionId, t + reservationTtlMs);
        }
        return { ...record };
      }
      return null;
    },
    async activate(sessionId, edgeId) {
      const t = now();
      const s = getLiveSession(sessionId, t);
      if (!s) return 'unknown';
      if (s.edgeId !== edgeId) return 'wrong-edge';
      const held = liveSlots(edgeId, t);
      if (!held.has(sessionId)) return 'unknown';
      held.set(sessionId, Number.POSITIVE_INFINITY);
      s.state = 'active';
      s.activatedAt = t;
      const entry = sessions.get(sessionId);
      if (entry) entry.expiresAt = Number.POSITIVE_INFINITY;
      return 'ok';
    },
    async release(sessionId, edgeId) {
      const t = now();
      const s = getLiveSession(sessionId, t);
      if (!s) return 'unknown';
      if (edgeId !== undefined && s.edgeId !== edgeId) return 'wrong-edge';
      slots.get(s.edgeId)?.delete(sessionId);
      sessions.delete(sessionId);
      return structuredClone(s);
    },
    async getSession(sessionId) {
      const s = getLiveSession(sessionId, now());
      return s ? structuredClone(s) : null;
    },
    async heartbeatAndReconcile(edgeId, load, nonce, ttlMs, nonceTtlMs, reconcile) {
      const result = await store.heartbeat(edgeId, load, nonce, ttlMs, nonceTtlMs);
      if (result !== 'ok' || !reconcile) return { result, restored: [], released: [] };
      const { running, activatedBefore } = reconcile;
      const t = now();
      const held = liveSlots(edgeId, t);
      const restored: string[] = [];
      const released: SessionRecord[] = [];
      const runs = new Set<string>();
      for (const r of running) {
        const sid = r.sessionId;
        runs.add(sid);
        const s = getLiveSession(sid, t);
        if (s && (s.edgeId !== edgeId || s.state === 'active')) continue;
        if (s) {
          s.state = 'active';
          s.activatedAt = t;
        } else {
          const data = JSON.parse(r.json) as SessionData;
          const record: SessionRecord = { ...data, edgeId, state: 'active', activatedAt: t };
          sessions.set(sid, { record, expiresAt: Number.POSITIVE_INFINITY });
        }
        const entry = sessions.get(sid);
        if (entry) entry.expiresAt = Number.POSITIVE_INFINITY;
        held.set(sid, Number.POSITIVE_INFINITY);
        restored.push(sid);
      }
      for (const [sid, expiry] of held) {
        if (expiry !== Number.POSITIVE_INFINITY || runs.has(sid)) continue;
        const s = getLiveSession(sid, t);
        if (s && (s.activatedAt ?? 0) >= activatedBefore) continue;
        held.delete(sid);
        if (!s) continue;
        sessions.delete(sid);
        released.push(structuredClone(s));
      }
      return { result, restored, released };
    },
    async reapDeadEdges() {
      const t = now();
      const dead: DeadEdge[] = [];
      for (const [id, e] of edges) {
        if (e.deadline > t) continue;
        const released: SessionRecord[] = [];
        for (const sid of liveSlots(id, t).keys()) {
          const s = getLiveSession(sid, t);
          if (s) released.push(s);
          sessions.delete(sid);
        }
        slots.delete(id);
        nextExpiry.delete(id);
        coordinates.delete(id);
        edges.delete(id);
        dead.push({ edgeId: id, sessions: released });
      }
      return dead;
    },
    async addDemand(counts) {
      const bucket = Math.floor(now() / DEMAND_BUCKET_MS);
      for (const [region, n] of Object.entries(counts)) {
        const key = `${region}|${bucket}`;
        demandBuckets.set(key, (demandBuckets.get(key) ?? 0) + n);
      }
    },
    async demand(regions, windowMs) {
      const last = Math.floor(now() / DEMAND_BUCKET_MS);
      const first = last - Math.max(0, Math.ceil(windowMs / DEMAND_BUCKET_MS) - 1);
      const out: Record<string, number> = {};
      for (const region of regions) {
        let sum = 0;
        for (let b = first; b <= last; b++) sum += demandBuckets.get(`${region}|${b}`) ?? 0;
        out[region] = sum;
      }
      return out;
    },
    // Every refresh of every instance reads all coordinates: plain copies, not structuredClone.
    async putCoordinates(map) {
      for (const id in map) coordinates.set(id, copyCoordinate(map[id] as StoredCoordinate));
    },
    async getCoordinates() {
      const out: Record<string, StoredCoordinate> = {};
      for (const [id, c] of coordinates) out[id] = copyCoordinate(c);
      return out;
    },
    async putGame(game) {
      return games.put(game);
    },
    async listGames() {
      return games.list();
    },
    async gameVersions(gameId) {
      return games.versions(gameId);
    },
    async pinGame(gameId, studio, version) {
      return games.pin(gameId, studio, version);
    },
    async unpublishGame(gameId, studio, version) {
      return games.unpublish(gameId, studio, version);
    },
    async publish(event: StoreEvent) {
      if (!closed) events.emit('event', structuredClone(event));
    },
    subscribe(listener) {
      const safe = (e: StoreEvent) => {
        try {
          listener(e);
        } catch {
          // a subscriber's failure must not stop delivery to the others
        }
      };
      events.on('event', safe);
      return () => events.off('event', safe);
    },
    async close() {
      closed = true;
      events.removeAllListeners();
    },
  };
  return store;
}

/** A copy of session data the caller cannot alias (cheaper than structuredClone on the hot path). */
function copySession(session: SessionData): SessionData {
  const player: SessionData['player'] = { measurements: session.player.measurements.map((m) => ({ ...m })) };
  const c = session.player.coordinate;
  if (c) player.coordinate = { v: [...c.v], h: c.h, e: c.e };
  if (session.player.lat !== undefined) player.lat = session.player.lat;
  if (session.player.lon !== undefined) player.lon = session.player.lon;
  const copy: SessionData = { sessionId: session.sessionId, gameId: session.gameId, player };
  if (session.owner !== undefined) copy.owner = session.owner;
  if (session.billingId !== undefined) copy.billingId = session.billingId;
  return copy;
}
