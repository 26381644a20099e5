import { createHash, type KeyObject } from 'node:crypto';
import type { BaseLogger } from 'pino';
import type { Hex } from 'viem';
import type { NetworkBilling } from '../protocol/billingSession.js';
import { type SignedProbeRequest, verifyProbeRequest } from '../protocol/edgeProbe.js';
import {
  EDGE_SHUTDOWN_REASON,
  type SignedEdgeHeartbeat,
  type SignedEdgeRegistration,
  type SignedEdgeSessionReport,
} from '../protocol/edgeRegistration.js';
import { FarplayError } from '../protocol/errors.js';
import { mintSessionToken } from '../protocol/mintSessionToken.js';
import { geoCoordinate } from '../protocol/networkCoordinates.js';
import type {
  Candidate,
  CandidatesRequest,
  CreateSessionRequest,
  CreateSessionResponse,
  GameInfo,
  SessionEvent,
} from '../protocol/playerApi.js';
import type { GrantJson } from '../protocol/qosReport.js';
import {
  type SessionAct,
  SessionActs,
  type SessionProof,
  verifySessionAct,
} from '../protocol/sessionProof.js';
import { Allocator } from './Allocator.js';
import { Billing } from './Billing.js';
import { Catalogue } from './Catalogue.js';
import { chainStakeReader } from './chainStakeReader.js';
import type { MatchmakerConfig } from './config.js';
import { CoordinateModel } from './coordinates.js';
import { EdgeRegistry } from './EdgeRegistry.js';
import { Failover } from './Failover.js';
import { type CandidateFilters, findCandidates } from './findCandidates.js';
import { IpLocator, ipLocationFiles } from './IpLocator.js';
import type { MatchmakerMetrics } from './metrics.js';
import { Pricing } from './Pricing.js';
import { RecentSessions } from './RecentSessions.js';
import { reservationHolders } from './reservationHolders.js';
import { SessionEvents } from './SessionEvents.js';
import { StakeGate } from './StakeGate.js';
import type {
  EdgeState,
  GameVersions,
  MatchmakerStore,
  PlayerContext,
  PublishedGame,
  SessionRecord,
} from './store/MatchmakerStore.js';

export interface MatchmakerOptions {
  store: MatchmakerStore;
  config: Readonly<MatchmakerConfig>;
  logger: BaseLogger;
  /** Ed25519 private key that signs session tokens. */
  sessionKey: KeyObject;
  metrics: MatchmakerMetrics;
  /** This deployment's id (session-key proofs are bound to it). */
  deployment: string;
  /** Randomness for tie-breaking (default Math.random). */
  random?: () => number;
  /** Billing (checkers, deposits); default: from the config. */
  billing?: Billing;
}

/** Where the location a candidates answer used came from: the request, the client address, or nowhere. */
export type LocatedBy = 'page' | 'ip' | 'none';

/**
 * The matchmaker behind the routes, a facade over its parts: the edge registry (`EdgeRegistry`, re-read
 * every `refreshMs`), the catalogue, regional pricing, network coordinates, allocation (`Allocator`,
 * ranked by `rankEdges`), failover (`Failover`, every `reapMs`) and session events (`SessionEvents`).
 * The store stays the authority: a reservation is only ever made by the store's atomic `reserve`.
 */
export class Matchmaker {
  readonly #store: MatchmakerStore;
  readonly #config: Readonly<MatchmakerConfig>;
  readonly #log: BaseLogger;
  readonly #metrics: MatchmakerMetrics;
  readonly #random: () => number;
  readonly #deployment: string;
  readonly #coordinates: CoordinateModel;
  readonly #pricing = new Pricing();
  readonly #catalogue: Catalogue;
  readonly #registry: EdgeRegistry;
  readonly #allocator: Allocator;
  readonly #failover: Failover;
  readonly #events: SessionEvents;
  readonly #billing: Billing;
  readonly #recent: RecentSessions;
  readonly #sessionKey: KeyObject;
  /** When each checker last got a probe token for each edge (`checker|edge` → unix ms). */
  readonly #probes = new Map<string, number>();
  #timers: NodeJS.Timeout[] = [];
  #closed = false;
  /** Places a client address (config `ipLocationDb`); loaded on first use or by `load()` at start-up. */
  readonly ipLocator: IpLocator;

  constructor(options: MatchmakerOptions) {
    const { store, config, logger, metrics } = options;
    this.#store = store;
    this.#config = config;
    this.#log = logger;
    this.#metrics = metrics;
    this.#random = options.random ?? Math.random;
    this.#deployment = options.deployment;
    this.ipLocator = new IpLocator(ipLocationFiles(config.ipLocationDb), (err) =>
      logger.error({ err, ipLocationDb: config.ipLocationDb }, 'IP-location database not loaded'),
    );
    // An edge stays within 30 ms of where its geography put it, whatever players tell.
    this.#coordinates = new CoordinateModel({ random: this.#random, anchorRadiusMs: 30 });
    const recent = new RecentSessions();
    this.#recent = recent;
    this.#catalogue = new Catalogue(store, Catalogue.builtInIds(config.builtInGameIds));
    this.#registry = new EdgeRegistry({
      store,
      config,
      logger,
      metrics,
      coordinates: this.#coordinates,
      pricing: this.#pricing,
      catalogue: this.#catalogue,
      stakes: stakeGateOf(config),
      recent,
      deployment: options.deployment,
    });
    this.#billing = options.billing ?? new Billing(config);
    this.#sessionKey = options.sessionKey;
    this.#allocator = new Allocator({
      store,
      config,
      registry: this.#registry,
      catalogue: this.#catalogue,
      sessionKey: options.sessionKey,
      deployment: options.deployment,
      random: this.#random,
      billing: this.#billing,
      priceOf: (edgeId) => {
        const state = this.#registry.index.get(edgeId);
        return state ? this.#pricing.price(state) : '0';
      },
      recent,
    });
    this.#failover = new Failover({
      store,
      registry: this.#registry,
      allocator: this.#allocator,
      metrics,
      logger,
    });
    this.#events = new SessionEvents(store, logger);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Reads the registry once and starts the refresh and failover loops. */
  async start(): Promise<void> {
    await this.refresh();
    await this.#billing.start();
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
    return this.#registry.refresh();
  }

  /** Drops edges whose heartbeats stopped and moves their players to the next best edge. */
  async reap(): Promise<number> {
    if (this.#closed) return 0;
    return this.#failover.reap();
  }

  /** Checks a page's grant for a session and opens the session at its checkers (matchmaker/Billing.ts). */
  async acceptGrant(sessionId: string, grant: GrantJson, grantSignature: Hex) {
    const record = await this.session(sessionId);
    const edge = this.#registry.index.get(record.edgeId)?.edge;
    // The edge's own price is the floor: the regional multiplier only ever raises it.
    const minPricePerMinute = BigInt(edge?.pricePerMinute ?? '0');
    return this.#billing.acceptGrant({ ...record, minPricePerMinute }, grant, grantSignature);
  }

  /** Billing as pages see it before asking for a session. */
  billing(): NetworkBilling {
    return this.#billing.network();
  }

  /** Live edges as this instance last saw them. */
  edges(): readonly EdgeState[] {
    return this.#registry.edges();
  }

  /** Price multiplier of a region (1 when supply meets demand). */
  multiplier(region: string): number {
    return this.#pricing.multiplier(region);
  }

  /** Verifies and stores an edge registration. */
  registerEdge(body: SignedEdgeRegistration): Promise<{ edgeId: string }> {
    return this.#registry.registerEdge(body);
  }

  /** Verifies and stores a heartbeat (load, liveness, RTTs to peers); returns the peers to measure next. */
  heartbeat(body: SignedEdgeHeartbeat): Promise<{ edgeId: string; url: string }[]> {
    return this.#registry.heartbeat(body);
  }

  /**
   * An edge reports a session started (reservation → active) or ended (slot released, player told); a
   * session ended by the edge's graceful shutdown is moved to another edge at once.
   */
  async reportSession(body: SignedEdgeSessionReport): Promise<void> {
    const moving = await this.#registry.reportSession(body);
    if (moving) await this.#failover.move(moving, EDGE_SHUTDOWN_REASON);
  }

  /** Published games plus the built-in games live edges advertise (published wins on an id clash). */
  games(): GameInfo[] {
    return this.#catalogue.games(this.#registry.edges());
  }

  /** The version served of every studio-published game. */
  publishedGames(): readonly PublishedGame[] {
    return this.#catalogue.published();
  }

  /** The published manifest of `gameId` (edges start package games from it), or undefined. */
  manifest(gameId: string): PublishedGame | undefined {
    return this.#catalogue.manifest(gameId);
  }

  /** Version `version` of a studio's game (what a session token names), or undefined. */
  manifestVersion(gameId: string, version: number): Promise<PublishedGame | undefined> {
    return this.#catalogue.manifestVersion(gameId, version);
  }

  /** Publishes a new version of a studio's game and returns its number; other instances show it from their next refresh on. */
  publishGame(game: PublishedGame): Promise<number> {
    return this.#catalogue.publish(game);
  }

  /** The studio's view of its game: every version, the pinned and the live one. */
  gameVersions(gameId: string, studio: string): Promise<GameVersions> {
    return this.#catalogue.versions(gameId, studio);
  }

  /** Serves `version` of the studio's game whatever is published later (null: the latest again). */
  pinGame(gameId: string, studio: string, version: number | null): Promise<void> {
    return this.#catalogue.pin(gameId, studio, version);
  }

  /** Removes a version of the studio's game, or the whole game from the catalogue. */
  unpublishGame(gameId: string, studio: string, version?: number): Promise<void> {
    return this.#catalogue.unpublish(gameId, studio, version);
  }

  /**
   * K candidate edges for a player: coarse location first, then predicted RTT; all have room for the game.
   * A request without a location (or with only the page's time-zone guess) is placed from `client`, its
   * address, when the IP-location database knows it; `locatedBy` says which location was used.
   */
  async candidates(
    request: CandidatesRequest & CandidateFilters,
    client?: string,
  ): Promise<{ candidates: Candidate[]; locatedBy: LocatedBy }> {
    let located = request;
    let locatedBy: LocatedBy = request.lat !== undefined && request.lon !== undefined ? 'page' : 'none';
    if ((locatedBy === 'none' || request.locationSource === 'timezone') && client !== undefined) {
      const found = this.ipLocator.locate(client);
      if (found) {
        located = { ...request, lat: found.lat, lon: found.lon };
        locatedBy = 'ip';
      }
    }
    const candidates = await findCandidates({
      request: located,
      index: this.#registry.index,
      allocator: this.#allocator,
      store: this.#store,
      config: this.#config,
      coordinates: this.#coordinates,
      pricing: this.#pricing,
      random: this.#random,
    });
    return { candidates, locatedBy };
  }

  /**
   * Allocates a session: solves the player's coordinate from its measurements (starting from its
   * location when the request carries one), releases the session it replaces, reserves a slot, signs the token.
   * `client` is the client's address: with the session key, it may hold only so many unconnected reservations.
   */
  /**
   * A probe session token for a checker (protocol/edgeProbe.ts): the request is signed by a checker sessions are
   * assigned from, for a live edge, at most once per `probeIntervalMs` per checker and edge. The token names the
   * checker (`prb`), no checkers to report to (never billed) and one of the edge's built-in games (the cheapest:
   * `latency-probe` when it runs it); no slot is reserved — the edge lends the probe a free one.
   */
  async probeToken(request: SignedProbeRequest): Promise<CreateSessionResponse> {
    const { payload } = request;
    await verifyProbeRequest(request, this.#deployment, this.#config.messageMaxAgeMs);
    if (!(await this.#billing.isChecker(payload.checker))) {
      throw new FarplayError('MM_NOT_A_CHECKER', undefined, { details: { checker: payload.checker } });
    }
    const state = this.#registry.index.get(payload.edge.toLowerCase());
    if (state === undefined) throw new FarplayError('MM_UNKNOWN_EDGE');
    const games = state.edge.games.map((g) => g.id);
    const gameId = games.includes('latency-probe') ? 'latency-probe' : games[0];
    if (gameId === undefined)
      throw new FarplayError('MM_UNKNOWN_GAME', 'the edge runs no game to probe with');
    const key = `${payload.checker.toLowerCase()}|${state.edge.id.toLowerCase()}`;
    const now = Date.now();
    const last = this.#probes.get(key);
    if (last !== undefined && now - last < this.#config.probeIntervalMs) {
      throw new FarplayError('MM_PROBE_TOO_SOON', undefined, {
        details: { retryAfterMs: this.#config.probeIntervalMs - (now - last) },
      });
    }
    this.#probes.set(key, now);
    if (this.#probes.size > 10_000) {
      for (const [k, t] of this.#probes) if (now - t >= this.#config.probeIntervalMs) this.#probes.delete(k);
    }
    const answer = mintSessionToken({
      sessionId: `probe-${createHash('sha256').update(`${key}|${now}|${Math.random()}`).digest('hex').slice(0, 32)}`,
      gameId,
      edge: { edgeId: state.edge.id, region: state.edge.region, url: state.edge.publicUrl },
      privateKey: this.#sessionKey,
      ttlSeconds: this.#config.tokenTtlS,
      probe: payload.checker,
    });
    return { ...answer, deployment: this.#deployment };
  }

  async createSession(request: CreateSessionRequest, client?: string): Promise<CreateSessionResponse> {
    const started = performance.now();
    try {
      const player: PlayerContext = { measurements: request.measurements.slice(0, 32) };
      const { lat, lon } = request;
      if (lat !== undefined) player.lat = lat;
      if (lon !== undefined) player.lon = lon;
      // Whom the measurements came from: the coordinates learn from one source only so often.
      if (client !== undefined) player.source = learningSource(client);
      // The page's own fit (protocol/probeEdges.ts) is the best start; else its location hint.
      const initial =
        request.coordinate ?? (lat !== undefined && lon !== undefined ? geoCoordinate(lat, lon) : undefined);
      // Solve only: the edges learn from these measurements once the session really starts (EdgeRegistry).
      const coordinate = this.#coordinates.solve(
        player.measurements.map((m) => ({ edgeId: m.edgeId.toLowerCase(), rttMs: m.rttMs })),
        initial,
      );
      if (coordinate) player.coordinate = coordinate;
      if (request.replaces && (await this.#store.getSession(request.replaces))) {
        // Only the old session's key may give it up (a known id alone is not enough).
        await this.proveOwner(request.replaces, SessionActs.replace, request.replacesProof);
        const old = await this.#store.release(request.replaces);
        this.#recent.ended(request.replaces);
        if (typeof old !== 'string') this.#registry.index.adjustUsed(old.edgeId, -1);
      }
      const owner = request.sessionKey?.toLowerCase();
      if (!owner && this.#config.requireSessionKey) {
        throw new FarplayError(
          'MM_NOT_SESSION_OWNER',
          'this matchmaker requires a sessionKey in session requests',
        );
      }
      // A paid network: the payer's deposit covers the dearest edge before any slot is reserved.
      await this.#billing.checkDeposit(request.payer, () => {
        let dearest = 0n;
        for (const e of this.#registry.edges()) {
          const price = BigInt(this.#pricing.price(e));
          if (price > dearest) dearest = price;
        }
        return dearest;
      });
      // Capped per session key and client address, in the reservation's own store step, so requests that
      // never connect cannot hold the network's slots (MM_RESERVATION_LIMIT).
      const holds = reservationHolders({
        owner,
        client,
        maxPerKey: this.#config.maxReservationsPerKey,
        maxPerClient: this.#config.maxReservationsPerClient,
      });
      const session = await this.#allocator.allocate(request.gameId, player, owner, undefined, holds);
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

  /** The session's current record, or MM_UNKNOWN_SESSION. */
  async session(sessionId: string): Promise<SessionRecord> {
    const s = await this.#store.getSession(sessionId);
    if (!s) throw new FarplayError('MM_UNKNOWN_SESSION');
    return s;
  }

  /**
   * Checks a signed act on a session: by the session's key, for this act, session and deployment, fresh,
   * and its nonce never used before (claimed in the store, so across instances). Returns the session.
   * MM_UNKNOWN_SESSION, MM_NOT_SESSION_OWNER, MM_STALE_MESSAGE or MM_SESSION_REPLAY otherwise.
   */
  async proveOwner(
    sessionId: string,
    act: SessionAct,
    proof: SessionProof | undefined,
  ): Promise<SessionRecord> {
    const record = await this.session(sessionId);
    // A keyless session (a player that does not sign yet) keeps the old bearer-id behaviour for
    // watching and replacing, unless the deployment requires keys; ending it always needs a key.
    if (record.owner === undefined && !this.#config.requireSessionKey && act !== SessionActs.end)
      return record;
    const maxAgeMs = this.#config.messageMaxAgeMs;
    await verifySessionAct({
      proof,
      act,
      sessionId,
      deployment: this.#deployment,
      owner: record.owner,
      maxAgeMs,
    });
    if (!(await this.#store.claimNonce(`session-key:${record.owner}`, proof?.nonce ?? '', maxAgeMs * 2))) {
      throw new FarplayError('MM_SESSION_REPLAY');
    }
    return record;
  }

  /** Ends a session on its key's signed word: frees the slot and tells its watchers. */
  async endSession(sessionId: string, proof: SessionProof | undefined): Promise<void> {
    await this.proveOwner(sessionId, SessionActs.end, proof);
    const old = await this.#store.release(sessionId);
    this.#recent.ended(sessionId);
    if (typeof old === 'string') throw new FarplayError('MM_UNKNOWN_SESSION');
    this.#registry.index.adjustUsed(old.edgeId, -1);
    await this.#store.publish({ sessionId, event: { type: 'ended', reason: 'player-ended' } });
  }

  /** Listens for events of one session (from any instance); returns the unsubscribe function. */
  onSessionEvent(sessionId: string, listener: (event: SessionEvent) => void): () => void {
    return this.#events.on(sessionId, listener);
  }

  /** Stops the loops and the event subscription (the store is closed by its owner). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#billing.close();
    this.#events.close();
    await Promise.all([this.#registry.settled(), this.#allocator.close()]);
  }
}

/** The stake check where a staking chain and registry are configured, else undefined (every signed edge registers). */
function stakeGateOf(config: Readonly<MatchmakerConfig>): StakeGate | undefined {
  if (!config.stakingRpcUrl || !config.stakingAddress) return undefined;
  return new StakeGate({
    read: chainStakeReader({
      rpcUrl: config.stakingRpcUrl,
      chainId: config.stakingChainId,
      registry: config.stakingAddress as `0x${string}`,
    }),
    ttlMs: config.stakeCheckMs,
  });
}

/** A client address as a learning source: hashed (the store keeps no addresses), IPv6 by its /64. */
function learningSource(client: string): string {
  const v6 = client.includes(':') && !client.startsWith('::ffff:');
  const key = v6 ? client.split(':').slice(0, 4).join(':') : client;
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}
