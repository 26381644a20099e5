import { type KeyObject, randomFillSync } from 'node:crypto';
import type { Logger } from 'pino';
import {
  type EdgeHeartbeatPayload,
  type EdgeRegistrationPayload,
  type SignedEdgeHeartbeat,
  type SignedEdgeRegistration,
  type SignedEdgeSessionReport,
  verifyEdgeMessage,
} from '../protocol/edgeRegistration.js';
import { FarplayError } from '../protocol/errors.js';
import type {
  Candidate,
  CandidatesRequest,
  CreateSessionRequest,
  CreateSessionResponse,
  GameInfo,
  SessionEvent,
} from '../protocol/playerApi.js';
import { signSessionToken } from '../protocol/sessionToken.js';
import type { MatchmakerConfig } from './config.js';
import {
  type Coordinate,
  CoordinateModel,
  geoCoordinate,
  predictionScore,
  predictRtt,
} from './coordinates.js';
import type { MatchmakerMetrics } from './metrics.js';
import type {
  EdgeState,
  MatchmakerStore,
  PlayerContext,
  PublishedGame,
  SessionRecord,
  StoreEvent,
} from './store/MatchmakerStore.js';

export interface MatchmakerOptions {
  store: MatchmakerStore;
  config: Readonly<MatchmakerConfig>;
  logger: Logger;
  /** Ed25519 private key that signs session tokens. */
  sessionKey: KeyObject;
  metrics: MatchmakerMetrics;
  /** Randomness for tie-breaking (default Math.random). */
  random?: () => number;
}

/** Extra candidate filters the matchmaker accepts beyond protocol/playerApi.ts. */
export interface CandidateFilters {
  /** Only edges with this encoder working. */
  encoder?: string;
  /** Only edges at or below this price per minute (ATH wei, after the multiplier). */
  maxPricePerMinute?: string;
}

/** RTTs within about this many ms count as a tie, broken by load, price and a little randomness. */
const TIE_MS = 2;
/** The tie-break adds less than this on top of the RTT: TIE_MS × (utilisation ≤ 1 + 0.5 × price ≤ 4 + U(0,1) < 1). */
const MAX_TIE_MS = TIE_MS * 4;
/** How many ranked edges one reservation attempt offers the store. */
const RESERVE_BATCH = 8;

interface Ranked {
  state: EdgeState;
  score: number;
}

/** An edge as ranking needs it, precomputed at each refresh (allocation is the hot path). */
interface EdgeView {
  state: EdgeState;
  coordinate: Coordinate;
  price: number;
  games: Set<string>;
}

/**
 * The matchmaker's brain, shared by all routes: a cached view of the edge registry (re-read from the
 * store every `refreshMs`), network coordinates, regional prices, allocation and failover.
 * The store stays the authority: a reservation is only ever made by the store's atomic `reserve`.
 */
export class Matchmaker {
  readonly #store: MatchmakerStore;
  readonly #config: Readonly<MatchmakerConfig>;
  readonly #log: Logger;
  readonly #sessionKey: KeyObject;
  readonly #metrics: MatchmakerMetrics;
  readonly #random: () => number;
  readonly #coordinates: CoordinateModel;
  #edges: EdgeState[] = [];
  #views: EdgeView[] = [];
  /** Per view: x, y, z, height, error — the ranking loop reads only this (refreshed with the views). */
  #flat = new Float64Array(0);
  /** Per required built-in game: which views advertise it (cached until the next refresh). */
  #gameMasks = new Map<string, Uint8Array>();
  /** Per view: 1 when it can take players at all (working encoder, its own freeSlots > 0), from the refresh. */
  #usable = new Uint8Array(0);
  /** Mean price over all views (the price tie-break's scale), from the refresh. */
  #meanPrice = 1;
  #indexById = new Map<string, number>();
  /** Measured RTTs of the current ranking, by view index, valid where #stamp equals #generation. */
  #measuredRtt = new Float64Array(0);
  #stamp = new Uint32Array(0);
  /** Scratch: the RTT term of each view in the current ranking. */
  #rtts = new Float64Array(0);
  /** Scratch: view indices the current ranking computed an RTT for. */
  #visited = new Int32Array(0);
  /** View indices by ascending coordinate x, those x values, and the smallest edge height (refresh). */
  #xOrder = new Int32Array(0);
  #xSorted = new Float64Array(0);
  #hMin = 0;
  /** Per view: 1 while its slots are all held (mirrors usedSlots ≥ capacity; see #setUsed). */
  #full = new Uint8Array(0);
  /** Scratch: the best `take` RTT terms of the current ranking. */
  #kth = new Float64Array(RESERVE_BATCH);
  #generation = 0;
  #byId = new Map<string, EdgeState>();
  #published: PublishedGame[] = [];
  #multipliers = new Map<string, number>();
  #pendingDemand: Record<string, number> = {};
  #timers: NodeJS.Timeout[] = [];
  #closed = false;
  #refreshing: Promise<void> | undefined;
  #reaping = false;
  readonly #sessionListeners = new Map<string, Set<(event: SessionEvent) => void>>();
  readonly #unsubscribe: () => void;

  constructor(options: MatchmakerOptions) {
    this.#store = options.store;
    this.#config = options.config;
    this.#log = options.logger;
    this.#sessionKey = options.sessionKey;
    this.#metrics = options.metrics;
    this.#random = options.random ?? Math.random;
    this.#coordinates = new CoordinateModel({ random: this.#random });
    this.#unsubscribe = this.#store.subscribe((e) => this.#deliver(e));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Reads the registry once and starts the refresh and failover loops. */
  async start(): Promise<void> {
    await this.refresh();
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const timer = setInterval(() => {
        fn().catch((error: unknown) => this.#log.warn({ err: error }, 'matchmaker background task failed'));
      }, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.#config.refreshMs, () => this.refresh());
    every(this.#config.reapMs, () => this.reap());
  }

  /** Re-reads edges, games, coordinates and demand from the store; flushes local demand and coordinates. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const demand = this.#pendingDemand;
    this.#pendingDemand = {};
    const dirty = this.#coordinates.takeDirty();
    const [demandWrite, coordinatesWrite] = await Promise.allSettled([
      this.#store.addDemand(demand),
      this.#store.putCoordinates(dirty),
    ]);
    // A failed write is retried at the next refresh instead of losing what this instance counted.
    if (demandWrite.status === 'rejected') {
      for (const [region, n] of Object.entries(demand)) this.#countDemand(region, n);
    }
    if (coordinatesWrite.status === 'rejected') this.#coordinates.markDirty(Object.keys(dirty));
    if (demandWrite.status === 'rejected') throw demandWrite.reason;
    if (coordinatesWrite.status === 'rejected') throw coordinatesWrite.reason;
    const [edges, games, coordinates] = await Promise.all([
      this.#store.listEdges(),
      this.#store.listGames(),
      this.#store.getCoordinates(),
    ]);
    this.#coordinates.merge(coordinates);
    this.#setEdges(edges);
    this.#published = games;
    const regions = [...new Set(edges.map((e) => e.edge.region))];
    const requests = await this.#store.demand(regions, this.#config.demandWindowMs);
    const free = new Map<string, number>();
    for (const e of edges) free.set(e.edge.region, (free.get(e.edge.region) ?? 0) + freeSlots(e));
    this.#multipliers = new Map(
      regions.map((r) => [
        r,
        priceMultiplier(requests[r] ?? 0, free.get(r) ?? 0, this.#config.demandWindowMs),
      ]),
    );
    this.#metrics.edgesAlive.set(edges.length);
    this.#metrics.freeSlots.reset();
    for (const [region, n] of free) this.#metrics.freeSlots.set({ region }, n);
  }

  #setEdges(edges: EdgeState[]): void {
    this.#edges = edges;
    this.#byId = new Map(edges.map((e) => [e.edge.id, e]));
    this.#views = edges.map((state) => ({
      state,
      coordinate: this.#coordinates.ensure(state.edge.id, state.edge.lat, state.edge.lon),
      price: Number(state.edge.pricePerMinute),
      games: new Set(state.edge.games.map((g) => g.id)),
    }));
    const flat = new Float64Array(this.#views.length * 5);
    this.#views.forEach((view, i) => {
      const c = view.coordinate;
      flat[i * 5] = c.v[0] ?? 0;
      flat[i * 5 + 1] = c.v[1] ?? 0;
      flat[i * 5 + 2] = c.v[2] ?? 0;
      flat[i * 5 + 3] = c.h;
      flat[i * 5 + 4] = c.e;
    });
    this.#flat = flat;
    this.#usable = Uint8Array.from(this.#views, (v) =>
      v.state.edge.encoders.length === 0 || (v.state.load !== null && v.state.load.freeSlots <= 0) ? 0 : 1,
    );
    let priceSum = 0;
    for (const v of this.#views) priceSum += v.price;
    this.#meanPrice = priceSum / (this.#views.length || 1) || 1;
    this.#gameMasks.clear();
    this.#indexById = new Map(this.#views.map((v, i) => [v.state.edge.id, i]));
    this.#measuredRtt = new Float64Array(this.#views.length);
    this.#stamp = new Uint32Array(this.#views.length);
    this.#rtts = new Float64Array(this.#views.length);
    this.#visited = new Int32Array(this.#views.length);
    this.#full = Uint8Array.from(this.#views, (v) => (v.state.usedSlots >= v.state.edge.capacity ? 1 : 0));
    // Views sorted by their first coordinate axis: |Δx| bounds the predicted RTT from below, so the
    // ranking walks outwards from the player's x and stops once nothing further can compete.
    const order = Array.from(this.#views, (_, i) => i).sort(
      (a, b) => (flat[a * 5] as number) - (flat[b * 5] as number),
    );
    this.#xOrder = Int32Array.from(order);
    this.#xSorted = Float64Array.from(order, (i) => flat[i * 5] as number);
    let hMin = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.#views.length; i++) hMin = Math.min(hMin, flat[i * 5 + 3] as number);
    this.#hMin = Number.isFinite(hMin) ? hMin : 0;
    this.#generation = 0;
  }

  #gameMask(need: string): Uint8Array {
    let mask = this.#gameMasks.get(need);
    if (!mask) {
      mask = Uint8Array.from(this.#views, (v) => (v.games.has(need) ? 1 : 0));
      this.#gameMasks.set(need, mask);
    }
    return mask;
  }

  /** Live edges as this instance last saw them. */
  edges(): readonly EdgeState[] {
    return this.#edges;
  }

  /** Price multiplier of a region (1 when supply meets demand). */
  multiplier(region: string): number {
    return this.#multipliers.get(region) ?? 1;
  }

  // --- edges ---

  /** Verifies and stores an edge registration. */
  async registerEdge(body: SignedEdgeRegistration): Promise<{ edgeId: string }> {
    const p = body.payload;
    await this.#verify('EdgeRegistration', p, body.signature);
    const edgeId = p.edge.toLowerCase();
    const result = await this.#store.putEdge(
      toEdgeRecord(p),
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

  /** Verifies and stores a heartbeat (load, liveness). */
  async heartbeat(body: SignedEdgeHeartbeat): Promise<void> {
    const p: EdgeHeartbeatPayload = body.payload;
    await this.#verify('EdgeHeartbeat', p, body.signature);
    const result = await this.#store.heartbeat(
      p.edge.toLowerCase(),
      {
        activeSessions: p.activeSessions,
        freeSlots: p.freeSlots,
        encodeHeadroom: p.encodeHeadroom,
        at: Date.now(),
      },
      p.nonce,
      this.#config.edgeTtlMs,
      this.#config.messageMaxAgeMs * 2,
    );
    this.#metrics.edgeMessages.inc({ kind: 'heartbeat', result });
    if (result === 'replay') throw new FarplayError('MM_REPLAY', 'heartbeat nonce seen before');
    if (result === 'unknown')
      throw new FarplayError('MM_UNKNOWN_EDGE', 'edge is not registered; register again');
  }

  /** An edge reports a session started (reservation → active) or ended (slot released, player told). */
  async reportSession(body: SignedEdgeSessionReport): Promise<void> {
    const p = body.payload;
    await this.#verify('EdgeSessionReport', p, body.signature);
    const edgeId = p.edge.toLowerCase();
    if (!(await this.#store.claimNonce(edgeId, p.nonce, this.#config.messageMaxAgeMs * 2))) {
      this.#metrics.edgeMessages.inc({ kind: 'session', result: 'replay' });
      throw new FarplayError('MM_REPLAY', 'session report nonce seen before');
    }
    if (p.event === 'started') {
      const r = await this.#store.activate(p.sessionId, edgeId);
      this.#metrics.edgeMessages.inc({ kind: 'session', result: r });
      if (r === 'unknown') throw new FarplayError('MM_UNKNOWN_SESSION', 'no reservation for this session');
      if (r === 'wrong-edge') throw new FarplayError('MM_NOT_SESSION_EDGE');
      return;
    }
    const r = await this.#store.release(p.sessionId, edgeId);
    this.#metrics.edgeMessages.inc({ kind: 'session', result: typeof r === 'string' ? r : 'ok' });
    if (r === 'unknown') throw new FarplayError('MM_UNKNOWN_SESSION');
    if (r === 'wrong-edge') throw new FarplayError('MM_NOT_SESSION_EDGE');
    const state = this.#byId.get(edgeId);
    if (state) this.#setUsed(state, Math.max(0, state.usedSlots - 1));
    await this.#store.publish({
      sessionId: p.sessionId,
      event: { type: 'ended', reason: p.reason || 'ended' },
    });
  }

  async #verify(
    kind: 'EdgeRegistration' | 'EdgeHeartbeat' | 'EdgeSessionReport',
    payload: unknown,
    signature: string,
  ): Promise<void> {
    try {
      // The route validated payload against kind's schema.
      await verifyEdgeMessage({
        kind,
        payload: payload as never,
        signature,
        maxAgeMs: this.#config.messageMaxAgeMs,
      });
    } catch (error) {
      const label =
        kind === 'EdgeRegistration' ? 'registration' : kind === 'EdgeHeartbeat' ? 'heartbeat' : 'session';
      this.#metrics.edgeMessages.inc({ kind: label, result: (error as FarplayError).code ?? 'error' });
      throw error;
    }
  }

  // --- catalogue ---

  /** Published games plus the built-in games live edges advertise (published wins on an id clash). */
  games(): GameInfo[] {
    const out = new Map<string, GameInfo>();
    // An edge renders a picture of each game it has built in: the catalogue points at it.
    for (const e of this.#edges)
      for (const g of e.edge.games)
        if (!out.has(g.id))
          out.set(g.id, {
            thumbnailUrl: `${e.edge.publicUrl.replace(/\/$/, '')}/v1/games/${g.id}/thumbnail`,
            ...g,
          });
    for (const g of this.#published) out.set(g.game.id, g.game);
    return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Publishes a studio's game; the catalogue shows it from the next refresh on. */
  async publishGame(game: PublishedGame): Promise<void> {
    const r = await this.#store.putGame(game);
    if (r === 'forbidden')
      throw new FarplayError('MM_FORBIDDEN', `game ${game.game.id} belongs to another studio`);
    this.#published = [...this.#published.filter((g) => g.game.id !== game.game.id), game];
  }

  /** Which built-in game an edge must advertise to run `gameId`; null = any edge (package). */
  #requirement(gameId: string): string | null {
    const published = this.#published.find((g) => g.game.id === gameId);
    if (published) return published.runtime.startsWith('builtin:') ? published.runtime.slice(8) : null;
    if (this.#edges.some((e) => e.edge.games.some((g) => g.id === gameId))) return gameId;
    throw new FarplayError('MM_UNKNOWN_GAME', `no game ${gameId}`);
  }

  #eligible(gameId: string, filters: CandidateFilters = {}, exclude?: string): EdgeView[] {
    const need = this.#requirement(gameId);
    const maxPrice = filters.maxPricePerMinute === undefined ? undefined : BigInt(filters.maxPricePerMinute);
    const out: EdgeView[] = [];
    for (const view of this.#views) {
      const e = view.state;
      if (e.edge.id === exclude || freeSlots(e) <= 0 || e.edge.encoders.length === 0) continue;
      if (need !== null && !view.games.has(need)) continue;
      if (filters.encoder && !e.edge.encoders.includes(filters.encoder)) continue;
      if (maxPrice !== undefined && BigInt(this.#price(e)) > maxPrice) continue;
      out.push(view);
    }
    return out;
  }

  #price(e: EdgeState): string {
    const m = this.multiplier(e.edge.region);
    return ((BigInt(e.edge.pricePerMinute) * BigInt(Math.round(m * 100))) / 100n).toString();
  }

  // --- players ---

  /** K candidate edges for a player: coarse location first, then predicted RTT; all have room for the game. */
  async candidates(request: CandidatesRequest & CandidateFilters): Promise<Candidate[]> {
    const limit = request.limit ?? 5;
    let pool = this.#eligible(request.gameId, request);
    let player: Coordinate | undefined;
    if (request.lat !== undefined && request.lon !== undefined) {
      player = geoCoordinate(request.lat, request.lon);
      const near = new Set(
        await this.#store.edgesNear(request.lat, request.lon, this.#config.candidateRadiusKm, 256),
      );
      const nearPool = pool.filter((v) => near.has(v.state.edge.id));
      if (nearPool.length >= limit) pool = nearPool;
    }
    let chosen: { state: EdgeState; predicted?: number }[];
    if (player) {
      const ranked = this.#rank(pool, new Map(), player, limit + 3 * limit);
      // The best predicted, plus one exploration pick further down: predictions can be wrong.
      chosen = ranked.slice(0, Math.max(1, limit - 1)).map((r) => ({ state: r.state, predicted: r.score }));
      const rest = ranked.slice(chosen.length);
      if (chosen.length < limit && rest.length > 0) {
        const pick = rest[Math.floor(this.#random() * rest.length)] as Ranked;
        chosen.push({ state: pick.state, predicted: pick.score });
      }
      for (const c of chosen) {
        const coord = this.#coordinates.get(c.state.edge.id);
        if (coord) c.predicted = predictRtt(player, coord);
        else delete c.predicted;
      }
    } else {
      chosen = this.#diverse(
        pool.map((v) => v.state),
        limit,
      ).map((state) => ({ state }));
    }
    const top = chosen[0];
    if (top) this.#countDemand(top.state.edge.region);
    return chosen.map(({ state, predicted }) => {
      const candidate: Candidate = {
        edgeId: state.edge.id,
        region: state.edge.region,
        probeUrl: `${state.edge.publicUrl.replace(/\/$/, '')}/v1/probe`,
        pricePerMinute: this.#price(state),
        priceMultiplier: this.multiplier(state.edge.region),
      };
      if (predicted !== undefined) candidate.predictedRttMs = Math.round(predicted * 10) / 10;
      return candidate;
    });
  }

  /** Without any location: spread over regions (least loaded edge of each), so the probes discover. */
  #diverse(pool: EdgeState[], limit: number): EdgeState[] {
    const byRegion = new Map<string, EdgeState[]>();
    for (const e of pool) {
      const list = byRegion.get(e.edge.region) ?? [];
      list.push(e);
      byRegion.set(e.edge.region, list);
    }
    const queues = [...byRegion.values()].map((list) =>
      list
        .map((state) => ({ state, key: utilisation(state) + this.#random() * 0.1 }))
        .sort((a, b) => a.key - b.key)
        .map((x) => x.state),
    );
    for (let i = queues.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [queues[i], queues[j]] = [queues[j] as EdgeState[], queues[i] as EdgeState[]];
    }
    const out: EdgeState[] = [];
    for (let round = 0; out.length < limit; round++) {
      let added = false;
      for (const q of queues) {
        const e = q[round];
        if (e && out.length < limit) {
          out.push(e);
          added = true;
        }
      }
      if (!added) break;
    }
    return out;
  }

  /**
   * Scores edges (lower is better): measured RTT, else predicted RTT plus its uncertainty; then within
   * about TIE_MS, load, price and a little randomness. Returns the best `take`, best first.
   */
  #rank(
    pool: EdgeView[],
    measured: Map<string, number>,
    player: Coordinate | undefined,
    take: number,
  ): Ranked[] {
    if (pool.length === 0) return [];
    let priceSum = 0;
    for (const v of pool) priceSum += v.price;
    const meanPrice = priceSum / pool.length || 1;
    const best: Ranked[] = [];
    let worst = Number.POSITIVE_INFINITY;
    for (const view of pool) {
      const state = view.state;
      let rtt = measured.size > 0 ? measured.get(state.edge.id) : undefined;
      if (rtt === undefined) {
        rtt = player ? predictionScore(predictRtt(player, view.coordinate), player, view.coordinate) : 1000;
      }
      // Cheap reject: the tie-break terms add at most TIE_MS × 3.5 on top of the RTT.
      if (best.length >= take && rtt > worst) continue;
      const price = Math.min(4, view.price / meanPrice);
      const score = rtt + TIE_MS * (utilisation(state) + 0.5 * price + this.#random());
      worst = keepBest(best, take, state, score, worst);
    }
    return best;
  }

  /**
   * `#rank` fused with eligibility over every live edge, without intermediate arrays: this runs for
   * every allocation over thousands of edges. Same scoring as `#rank`.
   */
  #rankForAllocation(
    gameId: string,
    exclude: string | undefined,
    measured: Map<string, number>,
    player: Coordinate | undefined,
    take: number,
  ): Ranked[] {
    const need = this.#requirement(gameId);
    const views = this.#views;
    const flat = this.#flat;
    const usable = this.#usable;
    const mask = need === null ? null : this.#gameMask(need);
    const meanPrice = this.#meanPrice;
    const px = player?.v[0] ?? 0;
    const py = player?.v[1] ?? 0;
    const pz = player?.v[2] ?? 0;
    const ph = player?.h ?? 0;
    const pe = player?.e ?? 1;
    this.#generation = (this.#generation + 1) >>> 0 || 1;
    const generation = this.#generation;
    const stamp = this.#stamp;
    const measuredRtt = this.#measuredRtt;
    for (const [id, rttMs] of measured) {
      const i = this.#indexById.get(id);
      if (i !== undefined) {
        stamp[i] = generation;
        measuredRtt[i] = rttMs;
      }
    }
    const n = views.length;
    const rtts = this.#rtts;
    // Pass 1 (typed arrays only): the RTT term of the edges that may compete, and the take-th smallest
    // RTT among eligible edges with room (`kth`). The tie-break adds < MAX_TIE_MS, so an edge whose RTT
    // exceeds kth + MAX_TIE_MS can never be among the best `take`. Measured edges are taken first; with
    // a player coordinate, predicted ones are visited outwards from the player's x: |Δx| + heights is a
    // lower bound of the prediction, so the walk stops once the bound passes kth + MAX_TIE_MS (usually
    // after a fraction of the edges). Without a coordinate every edge is visited. Exact: the edges that
    // reach pass 2 are the same as with a full scan.
    if (this.#kth.length < take) this.#kth = new Float64Array(take);
    const kth = this.#kth.fill(Number.POSITIVE_INFINITY, 0, take);
    const visited = this.#visited;
    const full = this.#full;
    const excluded = exclude === undefined ? -1 : (this.#indexById.get(exclude) ?? -1);
    let count = 0;
    // (No closures here: a closure per call costs more than the loop it would shorten.)
    if (player) {
      for (const [id] of measured) {
        const i = this.#indexById.get(id);
        if (i === undefined || stamp[i] !== generation || usable[i] === 0 || (mask !== null && mask[i] === 0))
          continue;
        const rtt = measuredRtt[i] as number; // ids are unique (lower-cased map keys)
        rtts[i] = rtt;
        visited[count++] = i;
        if (rtt < (kth[take - 1] as number) && full[i] === 0 && i !== excluded) insertKth(kth, take, rtt);
      }
      const xs = this.#xSorted;
      const order = this.#xOrder;
      const base = ph + this.#hMin;
      let hi = 0;
      let lo = xs.length;
      while (hi < lo) {
        const mid = (hi + lo) >>> 1;
        if ((xs[mid] as number) < px) hi = mid + 1;
        else lo = mid;
      }
      lo = hi - 1;
      while (lo >= 0 || hi < n) {
        const dLo = lo >= 0 ? px - (xs[lo] as number) : Number.POSITIVE_INFINITY;
        const dHi = hi < n ? (xs[hi] as number) - px : Number.POSITIVE_INFINITY;
        const fromLo = dLo <= dHi;
        const q = (fromLo ? dLo : dHi) + base;
        // Lower bound of every remaining edge's RTT term (a hair under, for rounding).
        const bound = (q + Math.max(5, 0.3 * q)) * (1 - 1e-9) - 1e-9;
        if (bound > (kth[take - 1] as number) + MAX_TIE_MS) break;
        const i = order[fromLo ? lo-- : hi++] as number;
        if (usable[i] === 0 || (mask !== null && mask[i] === 0) || stamp[i] === generation) continue;
        const o = i * 5;
        const dx = px - (flat[o] as number);
        const dy = py - (flat[o + 1] as number);
        const dz = pz - (flat[o + 2] as number);
        const predicted = Math.sqrt(dx * dx + dy * dy + dz * dz) + ph + (flat[o + 3] as number);
        const e = flat[o + 4] as number;
        const rtt = predicted + Math.max(5, predicted * Math.max(0.3, Math.min(1, (pe + e) / 2)));
        rtts[i] = rtt;
        visited[count++] = i;
        if (rtt < (kth[take - 1] as number) && full[i] === 0 && i !== excluded) insertKth(kth, take, rtt);
      }
    } else {
      for (let i = 0; i < n; i++) {
        if (usable[i] === 0 || (mask !== null && mask[i] === 0)) continue;
        const rtt = stamp[i] === generation ? (measuredRtt[i] as number) : 1000;
        rtts[i] = rtt;
        visited[count++] = i;
        if (rtt < (kth[take - 1] as number) && full[i] === 0 && i !== excluded) insertKth(kth, take, rtt);
      }
    }
    const cutoff = (kth[take - 1] as number) + MAX_TIE_MS;
    // Keep the visited edges under the cutoff, in view order as a full scan would (ties keep their order).
    let kept = 0;
    for (let c = 0; c < count; c++) {
      const i = visited[c] as number;
      if ((rtts[i] as number) <= cutoff) visited[kept++] = i;
    }
    count = kept;
    if (player) visited.subarray(0, count).sort();
    // Pass 2: score (measured RTT or prediction + load, price, randomness) the edges under the cutoff.
    const best: Ranked[] = [];
    let worst = Number.POSITIVE_INFINITY;
    for (let c = 0; c < count; c++) {
      const i = visited[c] as number;
      const rtt = rtts[i] as number;
      // Tie-break terms are ≥ 0: an RTT above the cutoff or the current worst cannot enter.
      if (rtt > cutoff || rtt > worst) continue;
      const view = views[i] as EdgeView;
      const state = view.state;
      const edge = state.edge;
      if (state.usedSlots >= edge.capacity || edge.id === exclude) continue;
      const price = Math.min(4, view.price / meanPrice);
      const score = rtt + TIE_MS * (state.usedSlots / (edge.capacity || 1) + 0.5 * price + this.#random());
      worst = keepBest(best, take, state, score, worst);
    }
    return best;
  }

  /** Allocates a session: ranks edges, reserves a slot atomically, signs the token. */
  async createSession(
    request: CreateSessionRequest,
    hint: { lat?: number; lon?: number } = {},
  ): Promise<CreateSessionResponse> {
    const started = performance.now();
    try {
      const player: PlayerContext = { measurements: request.measurements.slice(0, 32) };
      if (hint.lat !== undefined) player.lat = hint.lat;
      if (hint.lon !== undefined) player.lon = hint.lon;
      const initial =
        hint.lat !== undefined && hint.lon !== undefined ? geoCoordinate(hint.lat, hint.lon) : undefined;
      const coordinate = this.#coordinates.observe(
        player.measurements.map((m) => ({ edgeId: m.edgeId.toLowerCase(), rttMs: m.rttMs })),
        initial,
      );
      if (coordinate) player.coordinate = coordinate;
      if (request.replaces) {
        const old = await this.#store.release(request.replaces);
        if (typeof old !== 'string') this.#adjustUsed(old.edgeId, -1);
      }
      const session = await this.#allocate(request.gameId, player);
      this.#metrics.allocations.inc({ result: 'ok' });
      return session;
    } catch (error) {
      const code = error instanceof FarplayError ? error.code : 'INTERNAL';
      this.#metrics.allocations.inc({ result: code });
      throw error;
    } finally {
      this.#metrics.allocateSeconds.observe((performance.now() - started) / 1000);
    }
  }

  async #allocate(gameId: string, player: PlayerContext, exclude?: string): Promise<CreateSessionResponse> {
    const measured = new Map(player.measurements.map((m) => [m.edgeId.toLowerCase(), m.rttMs]));
    const sessionId = newSessionId();
    // Rank the best batch only; if the store finds them all full (our view was stale), they are marked
    // full below and the next ranking skips them.
    for (let attempt = 0; attempt < 4; attempt++) {
      const ranked = this.#rankForAllocation(gameId, exclude, measured, player.coordinate, RESERVE_BATCH);
      if (ranked.length === 0) break;
      const batch = ranked.map((r) => r.state.edge.id);
      const record = await this.#store.reserve({
        candidates: batch,
        session: { sessionId, gameId, player },
        reservationTtlMs: this.#config.reservationTtlMs,
      });
      if (record) {
        this.#adjustUsed(record.edgeId, +1);
        return this.#sessionResponse(record);
      }
      // Our view was stale: those edges are full or gone. Mark them so the next requests skip them.
      for (const id of batch) {
        const state = this.#byId.get(id);
        if (state) this.#setUsed(state, state.edge.capacity);
      }
    }
    throw new FarplayError('MM_NO_CAPACITY');
  }

  #adjustUsed(edgeId: string, delta: number): void {
    const state = this.#byId.get(edgeId);
    if (state) this.#setUsed(state, Math.max(0, Math.min(state.edge.capacity, state.usedSlots + delta)));
  }

  /** Sets an edge's slot count and keeps the ranking's `#full` flags in step. */
  #setUsed(state: EdgeState, usedSlots: number): void {
    state.usedSlots = usedSlots;
    const i = this.#indexById.get(state.edge.id);
    if (i !== undefined && this.#views[i]?.state === state)
      this.#full[i] = usedSlots >= state.edge.capacity ? 1 : 0;
  }

  #sessionResponse(record: SessionRecord): CreateSessionResponse {
    const state = this.#byId.get(record.edgeId);
    if (!state) throw new FarplayError('INTERNAL', 'reserved an edge missing from the registry view');
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + this.#config.tokenTtlS;
    const token = signSessionToken(
      { sid: record.sessionId, gameId: record.gameId, edgeId: record.edgeId, iat, exp },
      this.#sessionKey,
    );
    const url = state.edge.publicUrl.replace(/\/$/, '');
    return {
      sessionId: record.sessionId,
      gameId: record.gameId,
      token,
      expiresAt: exp * 1000,
      edge: {
        edgeId: record.edgeId,
        region: state.edge.region,
        url,
        signalUrl: `${url.replace(/^http/, 'ws')}/v1/signal`,
      },
    };
  }

  /** The session's current record, or MM_UNKNOWN_SESSION. */
  async session(sessionId: string): Promise<SessionRecord> {
    const s = await this.#store.getSession(sessionId);
    if (!s) throw new FarplayError('MM_UNKNOWN_SESSION');
    return s;
  }

  // --- failover ---

  /** Drops edges whose heartbeats stopped and moves their players to the next best edge. */
  async reap(): Promise<number> {
    if (this.#reaping || this.#closed) return 0;
    this.#reaping = true;
    try {
      const dead = await this.#store.reapDeadEdges();
      if (dead.length === 0) return 0;
      const deadIds = new Set(dead.map((d) => d.edgeId));
      // Rebuild the ranking's views too: neither candidates nor the moves below may offer a dead edge.
      this.#setEdges(this.#edges.filter((e) => !deadIds.has(e.edge.id)));
      // A re-registering edge starts again from its geography; keeping every id ever seen would grow.
      for (const id of deadIds) this.#coordinates.forget(id);
      const moves: Promise<void>[] = [];
      for (const d of dead) {
        this.#log.warn({ edgeId: d.edgeId, sessions: d.sessions.length }, 'edge lost; moving its players');
        for (const s of d.sessions) moves.push(this.#move(s));
      }
      await Promise.all(moves);
      return dead.length;
    } finally {
      this.#reaping = false;
    }
  }

  async #move(old: SessionRecord): Promise<void> {
    let event: SessionEvent;
    try {
      const player: PlayerContext = {
        ...old.player,
        measurements: old.player.measurements.filter((m) => m.edgeId.toLowerCase() !== old.edgeId),
      };
      const session = await this.#allocate(old.gameId, player, old.edgeId);
      event = { type: 'moved', session, reason: 'edge-lost' };
      this.#metrics.failovers.inc({ result: 'moved' });
    } catch (error) {
      this.#log.warn({ err: error, sessionId: old.sessionId }, 'no edge to move the session to');
      event = { type: 'ended', reason: 'edge-lost' };
      this.#metrics.failovers.inc({ result: 'ended' });
    }
    await this.#store.publish({ sessionId: old.sessionId, event });
  }

  // --- session events ---

  /** Listens for events of one session (from any instance); returns the unsubscribe function. */
  onSessionEvent(sessionId: string, listener: (event: SessionEvent) => void): () => void {
    let set = this.#sessionListeners.get(sessionId);
    if (!set) {
      set = new Set();
      this.#sessionListeners.set(sessionId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#sessionListeners.delete(sessionId);
    };
  }

  #deliver(e: StoreEvent): void {
    const set = this.#sessionListeners.get(e.sessionId);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(e.event);
      } catch (error) {
        this.#log.warn({ err: error }, 'session event listener failed');
      }
    }
  }

  #countDemand(region: string, n = 1): void {
    this.#pendingDemand[region] = (this.#pendingDemand[region] ?? 0) + n;
  }

  /** Stops the loops (the store is closed by its owner). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#unsubscribe();
    this.#sessionListeners.clear();
    await this.#refreshing?.catch(() => {});
  }
}

/**
 * Keeps the best `take` in `best`, a small array sorted by ascending score (cheaper than sorting
 * thousands of edges); returns the score a later edge must beat (+∞ until `best` is full).
 */
function keepBest(best: Ranked[], take: number, state: EdgeState, score: number, worst: number): number {
  if (best.length >= take && score >= worst) return worst;
  let k = best.length;
  while (k > 0 && (best[k - 1] as Ranked).score > score) k--;
  best.splice(k, 0, { state, score });
  if (best.length > take) best.pop();
  return best.length >= take ? (best[best.length - 1] as Ranked).score : Number.POSITIVE_INFINITY;
}

/** Inserts `rtt` into the ascending `take` smallest values kept in `kth` (rtt < kth[take − 1]). */
function insertKth(kth: Float64Array, take: number, rtt: number): void {
  let k = take - 1;
  while (k > 0 && (kth[k - 1] as number) > rtt) {
    kth[k] = kth[k - 1] as number;
    k--;
  }
  kth[k] = rtt;
}

/** Session ids come from a pooled CSPRNG buffer: one `randomFillSync` per 256 ids instead of one each. */
const idPool = Buffer.alloc(16 * 256);
let idOffset = idPool.length;
function newSessionId(): string {
  if (idOffset >= idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  idOffset += 16;
  return idPool.toString('base64url', idOffset - 16, idOffset);
}

function freeSlots(e: EdgeState): number {
  // The matchmaker's count (reservations included) rules; an edge that says it is full is skipped.
  if (e.load && e.load.freeSlots <= 0) return 0;
  return e.edge.capacity - e.usedSlots;
}

function utilisation(e: EdgeState): number {
  return e.edge.capacity > 0 ? e.usedSlots / e.edge.capacity : 1;
}

/**
 * Regional price multiplier from supply and demand: requests per minute over free slots; 1 while
 * supply covers demand, rising by half of the excess ratio, capped at 4. Rounded to 0.05.
 */
export function priceMultiplier(requests: number, free: number, windowMs: number): number {
  const perMinute = (requests * 60_000) / windowMs;
  const ratio = perMinute / Math.max(1, free);
  const m = Math.min(4, Math.max(1, 1 + 0.5 * (ratio - 1)));
  return Math.round(m * 20) / 20;
}

function toEdgeRecord(p: EdgeRegistrationPayload) {
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
    registeredAt: Date.now(),
  };
}
