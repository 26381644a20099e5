import type { BaseLogger } from 'pino';
import {
  EDGE_SHUTDOWN_REASON,
  MAX_EDGE_PEERS,
  type SignedEdgeHeartbeat,
  type SignedEdgeRegistration,
  type SignedEdgeSessionReport,
  verifyEdgeMessage,
} from '../protocol/edgeRegistration.js';
import { FarplayError } from '../protocol/errors.js';
import { geoCoordinate } from '../protocol/networkCoordinates.js';
import { RateBuckets } from '../protocol/RateBuckets.js';
import { recoverOffThread } from '../protocol/RecoverWorker.js';
import type { Catalogue } from './Catalogue.js';
import type { MatchmakerConfig } from './config.js';
import type { CoordinateModel } from './coordinates.js';
import { EdgeIndex } from './EdgeIndex.js';
import type { MatchmakerMetrics } from './metrics.js';
import { freeSlots, type Pricing } from './Pricing.js';
import type { RecentSessions } from './RecentSessions.js';
import type { StakeGate } from './StakeGate.js';
import {
  type DeadEdge,
  type EdgeChanges,
  type EdgeState,
  edgeRecordFrom,
  type MatchmakerStore,
  type RunningSession,
  type SessionRecord,
} from './store/MatchmakerStore.js';

export interface EdgeRegistryOptions {
  store: MatchmakerStore;
  config: Readonly<MatchmakerConfig>;
  logger: BaseLogger;
  metrics: MatchmakerMetrics;
  coordinates: CoordinateModel;
  pricing: Pricing;
  catalogue: Catalogue;
  /** Where a staking chain is configured: only edges with an active stake register and get players. */
  stakes?: StakeGate | undefined;
  /** Sessions this instance allocated, to re-create whole what the store lost. */
  recent: RecentSessions;
  /** This deployment's id: edge messages signed for another deployment are refused. */
  deployment: string;
}

/**
 * This instance's view of the edge registry: verifies and stores edge messages, re-reads edges,
 * published games, coordinates and demand from the store at each `refresh` (building the ranking's
 * `EdgeIndex`), and drops dead edges (`reapDead`). The store stays the authority.
 */
export class EdgeRegistry {
  readonly #store: MatchmakerStore;
  readonly #config: Readonly<MatchmakerConfig>;
  readonly #log: BaseLogger;
  readonly #metrics: MatchmakerMetrics;
  readonly #coordinates: CoordinateModel;
  readonly #pricing: Pricing;
  readonly #catalogue: Catalogue;
  /** Signed edge messages per edge address, counted once the signature is checked (never per client address). */
  readonly #perEdge: RateBuckets;
  readonly #stakes: StakeGate | undefined;
  readonly #recent: RecentSessions;
  readonly #deployment: string;
  /**
   * The in-process store forgets the nonces it saw when the matchmaker restarts: messages issued before this
   * instance started are then refused, so none signed before the restart can be replayed after it. Redis
   * keeps the nonces (for twice the freshness window), so a Redis-backed instance needs no such floor.
   */
  readonly #notBefore: number | undefined;
  /** Edges that said they are shutting down → until when they are not offered. */
  readonly #draining = new Map<string, number>();
  #edges: EdgeState[] = [];
  #index: EdgeIndex;
  /** Every live edge the store last reported (before the draining and stake filters), by id. */
  readonly #all = new Map<string, EdgeState>();
  /** The store's change cursor (`edgeChanges`) after the last refresh. */
  #cursor = '';
  /** Edges to read again at the first refresh after this time (unix ms: their earliest reservation expires). */
  readonly #recheckAt = new Map<string, number>();
  #refreshing: Promise<void> | undefined;

  constructor(options: EdgeRegistryOptions) {
    this.#store = options.store;
    this.#config = options.config;
    this.#log = options.logger;
    this.#metrics = options.metrics;
    this.#coordinates = options.coordinates;
    this.#pricing = options.pricing;
    this.#catalogue = options.catalogue;
    this.#perEdge = new RateBuckets({
      max: options.config.edgeRateLimitMax,
      windowMs: options.config.rateLimitWindowMs,
    });
    this.#stakes = options.stakes;
    this.#recent = options.recent;
    this.#deployment = options.deployment;
    this.#notBefore = options.store.kind === 'memory' ? Date.now() : undefined;
    this.#index = this.#indexOf([]);
  }

  /** Live edges as this instance last saw them. */
  edges(): readonly EdgeState[] {
    return this.#edges;
  }

  /** The ranking index of those edges. */
  get index(): EdgeIndex {
    return this.#index;
  }

  /**
   * Reads what changed among the edges (the store's change feed: on Redis only the changed edges are read, a
   * full read only when the feed cannot answer), games and demand; flushes local demand and coordinates.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Resolves once a refresh under way (if any) has settled. */
  async settled(): Promise<void> {
    await this.#refreshing?.catch(() => {});
  }

  async #refresh(): Promise<void> {
    const demand = this.#pricing.takeDemand();
    const dirty = this.#coordinates.takeDirty();
    const [demandWrite, coordinatesWrite] = await Promise.allSettled([
      this.#store.addDemand(demand),
      this.#store.putCoordinates(dirty),
    ]);
    // A failed write is retried at the next refresh instead of losing what this instance counted.
    if (demandWrite.status === 'rejected') this.#pricing.restoreDemand(demand);
    if (coordinatesWrite.status === 'rejected') this.#coordinates.markDirty(Object.keys(dirty));
    if (demandWrite.status === 'rejected') throw demandWrite.reason;
    if (coordinatesWrite.status === 'rejected') throw coordinatesWrite.reason;
    const t = Date.now();
    const recheck: string[] = [];
    for (const [id, at] of this.#recheckAt) if (at <= t) recheck.push(id);
    const [changes, games] = await Promise.all([
      this.#store.edgeChanges(this.#cursor, recheck),
      this.#store.listGames(),
    ]);
    this.#cursor = changes.cursor;
    // Coordinates this instance learnt (flushed above) or other instances' (merged now) move edges: re-index.
    const moved = this.#coordinates.merge(changes.coordinates) || Object.keys(dirty).length > 0;
    const edges = this.#apply(changes, t, moved);
    this.#catalogue.setPublished(games);
    const free = new Map<string, number>();
    for (const e of edges) free.set(e.edge.region, (free.get(e.edge.region) ?? 0) + freeSlots(e));
    const requests = await this.#store.demand([...free.keys()], this.#config.demandWindowMs);
    this.#pricing.update(free, requests, this.#config.demandWindowMs);
    this.#metrics.edgesAlive.set(edges.length);
    this.#metrics.freeSlots.reset();
    for (const [region, n] of free) this.#metrics.freeSlots.set({ region }, n);
  }

  /**
   * Applies a store read to the view. The index is rebuilt when edges came or went, registered again, or
   * coordinates moved (read from the store or learnt here); else the changed edges' load and slots are put
   * into it in place (a 50,000-edge index is not rebuilt for a few hundred slot counts). Returns every live edge.
   */
  #apply(changes: EdgeChanges, t: number, coordinatesMoved: boolean): EdgeState[] {
    let rebuild = changes.full || coordinatesMoved;
    if (changes.full) {
      this.#all.clear();
      this.#recheckAt.clear();
    }
    for (const id of changes.gone) {
      if (this.#all.delete(id)) rebuild = true;
      this.#recheckAt.delete(id);
      this.#coordinates.forget(id);
    }
    for (const state of changes.edges) {
      const id = state.edge.id;
      if (this.#all.get(id)?.edge.registeredAt !== state.edge.registeredAt) rebuild = true;
      this.#all.set(id, state);
      this.#expiresIn(id, t, state.slotsExpireInMs);
    }
    // Slot counts alone (reservations, releases): the edge's state takes them in place (the index's `full` too).
    for (const s of changes.slots) {
      const state = this.#all.get(s.id);
      if (!state) continue;
      if (s.slotsExpireInMs === undefined) delete state.slotsExpireInMs;
      else state.slotsExpireInMs = s.slotsExpireInMs;
      this.#index.setUsed(state, s.usedSlots);
      this.#expiresIn(s.id, t, s.slotsExpireInMs);
    }
    const all = [...this.#all.values()];
    const edges = this.#accountable(all);
    const views = this.#index.views;
    if (
      !rebuild &&
      edges.length === views.length &&
      edges.every((e, i) => views[i]?.state.edge.id === e.edge.id)
    ) {
      for (const state of changes.edges) this.#index.replace(state);
      this.#edges = edges;
    } else {
      this.#setEdges(edges);
    }
    return all;
  }

  /** Reads edge `id` again once its earliest reservation expires (`undefined`: it holds none). */
  #expiresIn(id: string, t: number, slotsExpireInMs: number | undefined): void {
    if (slotsExpireInMs === undefined) this.#recheckAt.delete(id);
    else this.#recheckAt.set(id, t + slotsExpireInMs + 1);
  }

  /**
   * The edges that may get players: not shutting down, and with a staking chain, those whose stake was last read active (the
   * answers older than the check period are read again in the background, so a slashed edge leaves at the
   * next refresh after that read).
   */
  #accountable(all: EdgeState[]): EdgeState[] {
    let edges = all;
    if (this.#draining.size > 0) {
      const now = Date.now();
      for (const [id, until] of this.#draining) if (until <= now) this.#draining.delete(id);
      edges = edges.filter((e) => !this.#draining.has(e.edge.id));
    }
    const stakes = this.#stakes;
    if (!stakes) return edges;
    const ids = new Set(edges.map((e) => e.edge.id));
    stakes.retain(ids);
    stakes.recheck(ids).catch((error: unknown) => this.#log.warn({ err: error }, 'stake re-check failed'));
    return edges.filter((e) => stakes.active(e.edge.id));
  }

  #setEdges(edges: EdgeState[]): void {
    this.#edges = edges;
    this.#index = this.#indexOf(edges);
  }

  #indexOf(edges: EdgeState[]): EdgeIndex {
    return new EdgeIndex(edges, (s) => this.#coordinates.ensure(s.edge.id, s.edge.lat, s.edge.lon));
  }

  /**
   * Removes edges whose liveness expired (their slots released by the store) from this view at once,
   * so neither candidates nor failover offer them before the next refresh; returns them with their sessions.
   */
  async reapDead(): Promise<DeadEdge[]> {
    const dead = await this.#store.reapDeadEdges();
    if (dead.length === 0) return dead;
    const deadIds = new Set(dead.map((d) => d.edgeId));
    // Their players are moved: a late heartbeat of the dead edge must not bring these sessions back.
    for (const d of dead) for (const s of d.sessions) this.#recent.ended(s.sessionId);
    for (const id of deadIds) {
      this.#all.delete(id);
      this.#recheckAt.delete(id);
    }
    this.#setEdges(this.#edges.filter((e) => !deadIds.has(e.edge.id)));
    // A re-registering edge starts again from its geography; keeping every id ever seen would grow.
    for (const id of deadIds) this.#coordinates.forget(id);
    return dead;
  }

  /** Verifies and stores an edge registration. */
  async registerEdge(body: SignedEdgeRegistration): Promise<{ edgeId: string }> {
    const p = body.payload;
    await this.#verified(
      'registration',
      verifyEdgeMessage({ kind: 'EdgeRegistration', payload: p, ...this.#check(body) }),
      p.edge,
    );
    const edgeId = p.edge.toLowerCase();
    if (p.capacity > this.#config.maxEdgeCapacity) {
      throw new FarplayError(
        'MM_CAPACITY_TOO_HIGH',
        `the registration declares ${p.capacity} sessions; this matchmaker allows at most ${this.#config.maxEdgeCapacity}`,
        { details: { declared: p.capacity, max: this.#config.maxEdgeCapacity } },
      );
    }
    await this.#stakes?.require(edgeId);
    this.#draining.delete(edgeId);
    const result = await this.#store.putEdge(
      edgeRecordFrom(p),
      p.nonce,
      this.#config.edgeTtlMs,
      this.#config.messageMaxAgeMs * 2,
    );
    this.#metrics.edgeMessages.inc({ kind: 'registration', result });
    if (result === 'replay') throw new FarplayError('MM_REPLAY', 'registration nonce seen before');
    this.#coordinates.ensure(edgeId, p.lat, p.lon);
    this.#log.info({ edgeId, region: p.region, capacity: p.capacity, url: p.publicUrl }, 'edge registered');
    return { edgeId };
  }

  /**
   * Verifies and stores a heartbeat (load, liveness), learns the edge's coordinate from its RTTs to other
   * edges, and returns up to `MAX_EDGE_PEERS` other live edges (chosen at random) for it to measure next.
   */
  async heartbeat(body: SignedEdgeHeartbeat): Promise<{ edgeId: string; url: string }[]> {
    const p = body.payload;
    await this.#verified(
      'heartbeat',
      verifyEdgeMessage({ kind: 'EdgeHeartbeat', payload: p, ...this.#check(body) }),
      p.edge,
    );
    const edgeId = p.edge.toLowerCase();
    // Heartbeat and reconciliation: one store call (one Redis round trip).
    const { result, restored, released } = await this.#store.heartbeatAndReconcile(
      edgeId,
      {
        activeSessions: p.activeSessions,
        freeSlots: p.freeSlots,
        encodeHeadroom: p.encodeHeadroom,
        at: Date.now(),
      },
      p.nonce,
      this.#config.edgeTtlMs,
      this.#config.messageMaxAgeMs * 2,
      p.activeSessionIds === undefined
        ? undefined
        : {
            running: this.#running(edgeId, p.activeSessionIds, p.activeSessionOwners ?? []),
            // Those activated at least two heartbeat periods ago: a session that started after this
            // heartbeat was signed is not freed.
            activatedBefore: Date.now() - 2 * this.#config.heartbeatMs,
          },
    );
    this.#metrics.edgeMessages.inc({ kind: 'heartbeat', result });
    if (result === 'replay') throw new FarplayError('MM_REPLAY', 'heartbeat nonce seen before');
    if (result === 'unknown')
      throw new FarplayError('MM_UNKNOWN_EDGE', 'edge is not registered; register again');
    await this.#reconciled(edgeId, restored, released);
    if (p.peerRtts && p.peerRtts.length > 0) {
      const used = this.#coordinates.learnPeers(
        edgeId,
        p.peerRtts.map((r) => ({ edgeId: r.edge.toLowerCase(), rttMs: r.rttMs })),
      );
      if (used > 0) this.#metrics.edgePeerRtts.inc({ result: 'used' }, used);
      if (used < p.peerRtts.length)
        this.#metrics.edgePeerRtts.inc({ result: 'implausible' }, p.peerRtts.length - used);
    }
    return this.#peersFor(edgeId);
  }

  /** Up to `MAX_EDGE_PEERS` other live edges, a random pick (distinct indices drawn; no copy of the edge list). */
  #peersFor(edgeId: string): { edgeId: string; url: string }[] {
    const edges = this.#edges;
    const self = edges.findIndex((e) => e.edge.id === edgeId);
    const others = edges.length - (self < 0 ? 0 : 1);
    const n = Math.min(MAX_EDGE_PEERS, others);
    const picked = new Set<number>();
    // Floyd's sampling over the others' positions (those after `self` shift by one).
    for (let j = others - n; j < others; j++) {
      const t = Math.floor(Math.random() * (j + 1));
      picked.add(picked.has(t) ? j : t);
    }
    return [...picked].map((i) => {
      const e = (edges[self >= 0 && i >= self ? i + 1 : i] as EdgeState).edge;
      return { edgeId: e.id, url: e.publicUrl };
    });
  }

  /**
   * The edge's heartbeat names the sessions it runs (the store re-creates those it lost — Redis restarted empty —
   * or whose `started` report never arrived, and frees the active ones it no longer runs: their `ended` report was
   * lost): each with its data as this instance remembers it (JSON, passed through unparsed), at most `capacity`.
   */
  #running(edgeId: string, ids: readonly string[], owners: readonly string[]): RunningSession[] {
    const capacity = this.#index.get(edgeId)?.edge.capacity ?? this.#config.maxEdgeCapacity;
    const running: RunningSession[] = [];
    for (const [i, id] of ids.entries()) {
      if (running.length >= capacity || running.some((r) => r.sessionId === id)) continue;
      // Not allocated here (another instance, or before a restart): the owner comes from the session's token.
      const json = this.#recent.runningJson(id, owners[i]);
      if (json !== undefined) running.push({ sessionId: id, json });
    }
    return running;
  }

  /** After a heartbeat's reconciliation: logs what was restored; the players of freed sessions are told. */
  async #reconciled(edgeId: string, restored: string[], released: SessionRecord[]): Promise<void> {
    if (restored.length > 0)
      this.#log.warn({ edgeId, sessions: restored }, 'sessions restored from a heartbeat');
    for (const s of released) {
      this.#recent.ended(s.sessionId);
      this.#index.adjustUsed(edgeId, -1);
      this.#log.warn({ edgeId, sessionId: s.sessionId }, 'session the edge no longer runs freed');
      await this.#store.publish({ sessionId: s.sessionId, event: { type: 'ended', reason: 'edge-ended' } });
    }
  }

  /**
   * An edge reports a session started (reservation → active) or ended (slot released, player told). An end
   * for the edge's graceful shutdown (EDGE_SHUTDOWN_REASON) tells no one: it returns the released session
   * for the caller to move, and this instance stops offering the edge.
   */
  async reportSession(body: SignedEdgeSessionReport): Promise<SessionRecord | undefined> {
    const p = body.payload;
    await this.#verified(
      'session',
      verifyEdgeMessage({ kind: 'EdgeSessionReport', payload: p, ...this.#check(body) }),
      p.edge,
    );
    const edgeId = p.edge.toLowerCase();
    if (!(await this.#store.claimNonce(edgeId, p.nonce, this.#config.messageMaxAgeMs * 2))) {
      this.#metrics.edgeMessages.inc({ kind: 'session', result: 'replay' });
      throw new FarplayError('MM_REPLAY', 'session report nonce seen before');
    }
    if (p.event === 'started') {
      const before = await this.#store.getSession(p.sessionId);
      const r = await this.#store.activate(p.sessionId, edgeId);
      this.#metrics.edgeMessages.inc({ kind: 'session', result: r });
      if (r === 'unknown') throw new FarplayError('MM_UNKNOWN_SESSION', 'no reservation for this session');
      if (r === 'wrong-edge') throw new FarplayError('MM_NOT_SESSION_EDGE');
      // The session really started: now (once) its player's measurements may teach the coordinates.
      if (before?.state === 'reserved') this.#learnFrom(before);
      return undefined;
    }
    const r = await this.#store.release(p.sessionId, edgeId);
    this.#metrics.edgeMessages.inc({ kind: 'session', result: typeof r === 'string' ? r : 'ok' });
    if (r !== 'wrong-edge') this.#recent.ended(p.sessionId);
    if (r === 'unknown') throw new FarplayError('MM_UNKNOWN_SESSION');
    if (r === 'wrong-edge') throw new FarplayError('MM_NOT_SESSION_EDGE');
    this.#index.adjustUsed(edgeId, -1);
    if (p.reason === EDGE_SHUTDOWN_REASON) {
      // The edge is going away: offer it to no one until it registers again (or its liveness runs out).
      this.#draining.set(edgeId, Date.now() + this.#config.edgeTtlMs);
      const state = this.#index.get(edgeId);
      if (state) this.#index.setUsed(state, state.edge.capacity);
      return r;
    }
    await this.#store.publish({
      sessionId: p.sessionId,
      event: { type: 'ended', reason: p.reason || 'ended' },
    });
    return undefined;
  }

  #learnFrom(session: SessionRecord): void {
    const { player } = session;
    const initial =
      player.lat !== undefined && player.lon !== undefined
        ? geoCoordinate(player.lat, player.lon)
        : undefined;
    this.#coordinates.learn(
      player.measurements.map((m) => ({ edgeId: m.edgeId.toLowerCase(), rttMs: m.rttMs })),
      { initial, source: player.source },
    );
  }

  #check(body: { signature: string }) {
    return {
      signature: body.signature,
      // Signature recovery on a worker thread: the largest cost of a heartbeat, off the thread allocations need.
      recover: recoverOffThread,
      maxAgeMs: this.#config.messageMaxAgeMs,
      deployment: this.#deployment,
      ...(this.#notBefore !== undefined ? { notBefore: this.#notBefore } : {}),
    };
  }

  /**
   * Awaits a signature check, counting a refusal under `kind` before passing it on; then counts the message
   * in its edge's own bucket (RATE_LIMITED over `edgeRateLimitMax` per window): an edge is limited by what it
   * signs, never by the traffic of players (or other edges) behind its address.
   */
  async #verified(
    kind: 'registration' | 'heartbeat' | 'session',
    check: Promise<void>,
    edge: string,
  ): Promise<void> {
    try {
      await check;
    } catch (error) {
      const result = error instanceof FarplayError ? error.code : 'error';
      this.#metrics.edgeMessages.inc({ kind, result });
      throw error;
    }
    if (!this.#perEdge.take(edge.toLowerCase())) {
      this.#metrics.edgeMessages.inc({ kind, result: 'RATE_LIMITED' });
      throw new FarplayError('RATE_LIMITED', `edge ${edge} sent more than its messages per window`);
    }
  }
}
