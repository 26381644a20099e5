import type { Cluster, Redis } from 'ioredis';
import type { EdgeRegistrationPayload } from '../../protocol/edgeRegistration.js';
import type { GameInfo, RttMeasurement, SessionEvent } from '../../protocol/playerApi.js';

/** What the matchmaker knows about an edge from its signed registration; `id` is its lower-case address. */
export interface EdgeRecord {
  id: string;
  region: string;
  lat: number;
  lon: number;
  gpu: string;
  encoders: string[];
  capacity: number;
  /** ATH wei per minute, decimal string. */
  pricePerMinute: string;
  version: string;
  publicUrl: string;
  games: GameInfo[];
  /** Package runtimes the edge runs (e.g. ['x11']); absent = built-in games only. */
  runtimes?: string[];
  /** Unix ms of the registration. */
  registeredAt: number;
}

/** The record kept for a verified registration, received now. */
export function edgeRecordFrom(p: EdgeRegistrationPayload): EdgeRecord {
  return {
    id: p.edge.toLowerCase(),
    region: p.region,
    lat: p.lat,
    lon: p.lon,
    gpu: p.gpu,
    encoders: p.encoders,
    capacity: p.capacity,
    pricePerMinute: p.pricePerMinute,
    version: p.version,
    publicUrl: p.publicUrl,
    games: p.games,
    ...(p.runtimes?.length ? { runtimes: p.runtimes } : {}),
    registeredAt: Date.now(),
  };
}

/** Load from the edge's last heartbeat. */
export interface EdgeLoad {
  activeSessions: number;
  freeSlots: number;
  encodeHeadroom: number;
  /** Unix ms the heartbeat was received. */
  at: number;
}

/** A live edge with its last load and how many of its slots the matchmaker holds (reserved + active). */
export interface EdgeState {
  edge: EdgeRecord;
  load: EdgeLoad | null;
  usedSlots: number;
  /**
   * Set by `edgeChanges` where the edge holds unconnected reservations: ms from the read until the earliest of
   * them expires (usedSlots then drops with no write to report it; the reader asks for the edge again).
   */
  slotsExpireInMs?: number;
}

/** An edge's held slots as `edgeChanges` read them (see `EdgeState.usedSlots`, `slotsExpireInMs`). */
export interface EdgeSlots {
  id: string;
  usedSlots: number;
  slotsExpireInMs?: number;
}

/**
 * What changed among the edges since a cursor (`MatchmakerStore.edgeChanges`): the registry refresh applies it
 * to its view instead of re-reading every edge.
 */
export interface EdgeChanges {
  /** Pass back as `since` next time. */
  cursor: string;
  /** true: `edges` is every live edge (replace the view); false: only those changed since the cursor. */
  full: boolean;
  /** Live edges that changed (registration, load going full or not, coordinate, revival), or all of them. */
  edges: EdgeState[];
  /**
   * Edges whose held slots alone changed (reservations, releases; those asked to be read again): their new counts,
   * for edges the view already holds. Empty when `full` (and on stores that always read everything).
   */
  slots: EdgeSlots[];
  /** Edges gone since the cursor (reaped, or found expired): drop them. Empty when `full`. */
  gone: string[];
  /** The stored coordinates of the edges in `edges` (those that have one) and of those whose coordinate alone changed. */
  coordinates: Record<string, StoredCoordinate>;
}

/** Network coordinate (Vivaldi with height), as stored and shared between instances. */
export interface StoredCoordinate {
  v: number[];
  h: number;
  e: number;
  /** The edge's own RTTs (ms) to other edges, by lower-case edge id, from its heartbeats (`learnPeers`). */
  peers?: Record<string, number>;
}

/** What the matchmaker keeps about the player of a session, to re-allocate it on failover. */
export interface PlayerContext {
  measurements: RttMeasurement[];
  coordinate?: StoredCoordinate;
  lat?: number;
  lon?: number;
  /** Hashed client address the measurements came from (coordinates learn from one source only so often). */
  source?: string;
}

/** Session data the allocator writes; the store adds edgeId, state and createdAt. */
export interface SessionData {
  sessionId: string;
  gameId: string;
  player: PlayerContext;
  /** Lower-case address of the session key that must sign acts on the session (protocol/sessionProof.ts). */
  owner?: string;
  /** The session's on-chain id (billed sessions; matchmaker/BillingRuns.ts): what its grant must name. */
  billingId?: string;
}

/** A session an edge's heartbeat says it runs: its id and its `SessionData` as JSON (read only to re-create it). */
export interface RunningSession {
  sessionId: string;
  json: string;
}

/** What `heartbeatAndReconcile` did: the heartbeat's answer, the sessions restored and those released. */
export interface HeartbeatReconciled {
  result: 'ok' | 'replay' | 'unknown';
  restored: string[];
  released: SessionRecord[];
}

export interface SessionRecord extends SessionData {
  edgeId: string;
  /** `reserved` until the edge reports the start; a reservation expires, an active session does not. */
  state: 'reserved' | 'active';
  /** Unix ms the session became active (memory store; the Redis store keeps it in the session hash). */
  activatedAt?: number;
}

/** A game published by a studio. */
export interface PublishedGame {
  game: GameInfo;
  /** e.g. 'builtin:<name>' (an edge's built-in game) or 'package' (runs `command` from the package). */
  runtime: string;
  command?: string;
  packageSha256?: string;
  /** A package game may use the network (default false). */
  network?: boolean;
  studio: string;
  publishedAt: number;
  /** The version number the store gave it (1, 2, …, per game id); absent before it is stored. */
  version?: number;
}

/** Every stored version of a game and which one the catalogue serves. */
export interface GameVersions {
  studio: string;
  /** Oldest first. */
  versions: PublishedGame[];
  /** The version a studio pinned (served instead of the latest), or null. */
  pinned: number | null;
  /** The version the catalogue serves (the pinned one, else the latest), or null when none is left. */
  live: number | null;
}

/** What a studio's change to its game found: done, another studio's game, or no such game/version. */
export type GameChange = 'ok' | 'forbidden' | 'unknown';

/** A session event addressed to the players watching `sessionId` (on any matchmaker instance). */
export interface StoreEvent {
  sessionId: string;
  event: SessionEvent;
}

/** An edge the store declared dead (liveness expired) with the sessions it held, now released. */
export interface DeadEdge {
  edgeId: string;
  sessions: SessionRecord[];
}

/** One holder of unconnected reservations (a session key, a client address) and how many it may hold. */
export interface HoldLimit {
  /** e.g. `key:<address>` or `ip:<address>`. */
  holder: string;
  max: number;
}

export interface ReserveParameters {
  /** Edge ids in order of preference; the first live one with a free slot gets the session. */
  candidates: string[];
  session: SessionData;
  /** How long the slot is held before the edge reports the start, ms. */
  reservationTtlMs: number;
  /**
   * Holders the reservation counts against (a session key, a client address), each with its cap of
   * unconnected reservations: checked and recorded in the same atomic step (nothing is reserved over a cap).
   */
  holds?: HoldLimit[];
}

/** `reserve`'s answer: the reservation, null when no candidate has room, or the holder already at its cap. */
export type ReserveResult = SessionRecord | { overLimit: string } | null;

/**
 * The matchmaker's whole shared state. Every multi-key change is atomic (one critical section in
 * memory, one Lua script in Redis), so several matchmaker instances on one Redis never double-book.
 */
export interface MatchmakerStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Where request counters shared by every instance on this store live (the per-address rate limits): the
   * Redis connection and a key prefix. Absent for the in-process store (each instance counts alone).
   */
  readonly sharedCounters?: { redis: Redis | Cluster; keyPrefix: string };
  /** Registers or re-registers an edge and marks it live for `ttlMs`; 'replay' if the nonce was seen. */
  putEdge(edge: EdgeRecord, nonce: string, ttlMs: number, nonceTtlMs: number): Promise<'ok' | 'replay'>;
  /** Records load and extends liveness; 'unknown' if the edge is not registered (or was declared dead). */
  heartbeat(
    edgeId: string,
    load: EdgeLoad,
    nonce: string,
    ttlMs: number,
    nonceTtlMs: number,
  ): Promise<'ok' | 'replay' | 'unknown'>;
  /** Claims a one-time nonce of an edge message; false if seen before. */
  claimNonce(edgeId: string, nonce: string, ttlMs: number): Promise<boolean>;
  /** All live edges. */
  listEdges(): Promise<EdgeState[]>;
  /**
   * The edges changed since `since` (a cursor this method returned; '' = never read): on Redis a change feed
   * (every write that changes what the registry sees bumps a version and records the edge), read in pages; a
   * full read when the cursor is unknown, too old or from before Redis lost its data. `recheck`: edges to read
   * again anyway (their reservations expire, `slotsExpireInMs`). An edge whose liveness lapses leaves the view
   * when it is reaped (or when it is read again). The in-process store answers a full read each time.
   */
  edgeChanges(since: string, recheck?: readonly string[]): Promise<EdgeChanges>;
  /** Ids of live edges within `radiusKm` of a point, nearest first. */
  edgesNear(lat: number, lon: number, radiusKm: number, limit: number): Promise<string[]>;
  /**
   * Atomically reserves a slot on the first candidate with room (null if none has), unless a holder of
   * `holds` already holds its most unconnected reservations (a holder's earlier sessions count while they
   * are still reserved: not started, not ended, not expired): then `{ overLimit: holder }` and nothing is
   * recorded.
   */
  reserve(parameters: ReserveParameters): Promise<ReserveResult>;
  /** Reservation → active, reported by the session's edge. */
  activate(sessionId: string, edgeId: string): Promise<'ok' | 'unknown' | 'wrong-edge'>;
  /** Ends a session and frees its slot; with `edgeId`, only if the session is on that edge. */
  release(sessionId: string, edgeId?: string): Promise<SessionRecord | 'unknown' | 'wrong-edge'>;
  getSession(sessionId: string): Promise<SessionRecord | null>;
  /**
   * `heartbeat`, then — if it answered 'ok' and `reconcile` is given — reconciles `edgeId`'s sessions with those
   * the heartbeat says it runs: a running session the store does not know is re-created active on this edge (from
   * its `json`), a reservation of this edge that runs becomes active, and an active session of this edge that no
   * longer runs and was activated before `activatedBefore` (unix ms) is released. Sessions on other edges are left
   * alone. On Redis one script (one round trip, atomic).
   */
  heartbeatAndReconcile(
    edgeId: string,
    load: EdgeLoad,
    nonce: string,
    ttlMs: number,
    nonceTtlMs: number,
    reconcile?: { running: readonly RunningSession[]; activatedBefore: number },
  ): Promise<HeartbeatReconciled>;
  /** Removes edges whose liveness expired, releasing their slots and dropping their coordinates; each dead edge is returned to exactly one caller. */
  reapDeadEdges(): Promise<DeadEdge[]>;
  /** Counts allocation requests per region (for pricing). */
  addDemand(counts: Record<string, number>): Promise<void>;
  /** Requests per region over the last `windowMs`. */
  demand(regions: string[], windowMs: number): Promise<Record<string, number>>;
  putCoordinates(coordinates: Record<string, StoredCoordinate>): Promise<void>;
  getCoordinates(): Promise<Record<string, StoredCoordinate>>;
  /**
   * Stores a new version of a game (numbered 1, 2, … per id) and returns its number; the catalogue serves
   * it unless another version is pinned. 'forbidden' if the id belongs to another studio.
   */
  putGame(game: PublishedGame): Promise<number | 'forbidden'>;
  /** The version the catalogue serves of each published game. */
  listGames(): Promise<PublishedGame[]>;
  /** Every version of `gameId`, or null if no studio has published it. */
  gameVersions(gameId: string): Promise<GameVersions | null>;
  /** Serves `version` of `gameId` whatever is published later; null unpins (the latest is served). */
  pinGame(gameId: string, studio: string, version: number | null): Promise<GameChange>;
  /**
   * Removes one version of `gameId` (the catalogue then serves the pinned or latest one left), or with
   * `version` undefined every version (the game leaves the catalogue; its id stays the studio's).
   */
  unpublishGame(gameId: string, studio: string, version?: number): Promise<GameChange>;
  /** Delivers a session event to every instance's subscribers. */
  publish(event: StoreEvent): Promise<void>;
  /** Subscribes to session events; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  readonly closed: boolean;
  close(): Promise<void>;
}

/** Demand is counted in buckets of this many ms. */
export const DEMAND_BUCKET_MS = 10_000;
/** Score of an active session in a slot set: it never expires by time. */
export const ACTIVE_SLOT_SCORE = 9e15;
