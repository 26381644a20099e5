import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { billingSessionId } from '../protocol/billingSession.js';
import { FarplayError, findError } from '../protocol/errors.js';
import { mintSessionToken } from '../protocol/mintSessionToken.js';
import type { CreateSessionResponse, GameInfo } from '../protocol/playerApi.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  importSessionPublicKey,
  type SessionClaims,
  verifySessionToken,
} from '../protocol/sessionToken.js';
import { SignalCloseCodes } from '../protocol/signaling.js';
import { TypedEmitter } from '../protocol/TypedEmitter.js';
import { type Admission, AdmissionRefused, claimSlot, refuseSignalSocket } from './Admission.js';
import type { EdgeConfig } from './config.js';
import type { EdgeEvents } from './EdgeEvents.js';
import type { GameDefinition } from './games/GameRuntime.js';
import { renderThumbnail } from './games/renderThumbnail.js';
import type { PacerClock } from './media/FramePacer.js';
import type { OpenVideoEncoder } from './media/MediaPipelineOptions.js';
import type { ProbeEncodersResult } from './media/probeEncoders.js';
import { summarize, type TimingSummary } from './media/TimingWindow.js';
import { type PackageGameSource, PackageGames } from './PackageGames.js';
import { SpentTokens } from './SpentTokens.js';
import type { SessionSignalling } from './session/SessionSignalling.js';
import { SignalChannel, type SignalSocket } from './session/SignalChannel.js';
import { StreamSession, type StreamSessionStats } from './session/StreamSession.js';
import { WebSocketSignalling } from './session/WebSocketSignalling.js';
import { WhepSignalling } from './session/WhepSignalling.js';

/** What `edge.info()` reports; the matchmaker's registration and heartbeats carry it. */
export interface EdgeInfo {
  id: string;
  url: string | undefined;
  region: string;
  /** Where the edge is (coarse location filter), its GPU model and its price per minute (ATH wei). */
  lat: number;
  lon: number;
  gpu: string;
  pricePerMinute: string;
  /** True when the edge mints its own session tokens and serves the player API. */
  standalone: boolean;
  /** H.264 encoders that really work here, in order of preference. */
  encoders: string[];
  /** The encoder sessions use. */
  encoder: string;
  capacity: number;
  activeSessions: number;
  freeSlots: number;
  /** 0..1: share of this machine's CPU the running encoders leave free (from measured encode times). */
  encodeHeadroom: number;
  games: GameInfo[];
  /** Package runtimes this edge runs (e.g. ['x11']); empty = built-in games only. */
  runtimes: string[];
}

/** What `edge.stats()` reports: edge-side figures for benches and QoS. */
export interface EdgeStats {
  /** Frame ready → last RTP packet sent, ms, over the recent frames of all sessions. */
  edgeMs: TimingSummary;
  /** Time inside the encoder per frame, ms. */
  encodeMs: TimingSummary;
  /** Captured frames (native games): grab returned → ready in the encoder's planes, ms (count 0 without). */
  captureMs: TimingSummary;
  sessions: StreamSessionStats[];
  /** Sessions ended since start, by close code. */
  endedByCode: Record<string, number>;
}

export type { EdgeEvents };

/** What an Edge is built from (see `createEdge`). */
export interface EdgeParameters {
  config: Readonly<EdgeConfig>;
  logger: Logger;
  games: GameDefinition[];
  /** Studio package games (native games fetched from the matchmaker); none = built-in games only. */
  packageGames?: PackageGameSource | undefined;
  encoderProbe: ProbeEncodersResult;
  clock?: PacerClock | undefined;
  openVideoEncoder?: OpenVideoEncoder | undefined;
}

/**
 * An edge node's domain: identity (node key), session tokens (verification, and minting when
 * standalone), admission, the running stream sessions and their figures. No HTTP here: `EdgeServer`
 * serves it (edge/http/).
 */
export class Edge extends TypedEmitter<EdgeEvents> {
  /** The edge's identity: the address of its secp256k1 node key. */
  readonly id: string;
  /** The node key (signs registrations, heartbeats and QoS reports). */
  readonly account: LocalAccount;
  readonly config: Readonly<EdgeConfig>;
  readonly encoderProbe: ProbeEncodersResult;
  /** The Ed25519 public key (base64url spki) session tokens verify with (its own when standalone). */
  readonly sessionPublicKey: string;
  /** The settlement figures behind the operator's `GET /v1/earnings`; set by the billing (none: billing off). */
  earningsSource: (() => Promise<unknown>) | undefined;
  readonly #log: Logger;
  readonly #games: Map<string, GameDefinition>;
  readonly #packageGames: PackageGames | undefined;
  readonly #thumbnails = new Map<string, Promise<Buffer | undefined>>();
  readonly #sessions = new Map<string, StreamSession>();
  /** Ids of the running checkers' probe sessions (token claim `prb`): lent a free slot, never billed or reported. */
  readonly #probes = new Set<string>();
  /** Tokens whose session was admitted: each works once (until it expires). */
  readonly #spentTokens: SpentTokens;
  readonly #verifyKey: ReturnType<typeof importSessionPublicKey>;
  readonly #signKey: ReturnType<typeof importSessionPrivateKey> | undefined;
  readonly #clock: PacerClock | undefined;
  readonly #openVideoEncoder: OpenVideoEncoder | undefined;
  readonly #endedByCode: Record<string, number> = {};
  #url: string | undefined;
  #closed = false;

  constructor(parameters: EdgeParameters) {
    const account = privateKeyToAccount(
      (parameters.config.nodePrivateKey ?? generatePrivateKey()) as `0x${string}`,
    );
    const log = parameters.logger.child({ edgeId: account.address });
    // Listeners belong to other parts (edge control, tests); one that throws must not break a session.
    super({
      onListenerError: (error, event) => log.error({ err: error, event }, 'edge event listener threw'),
    });
    const { config } = parameters;
    this.id = account.address;
    this.account = account;
    this.#log = log;
    this.config = config;
    this.encoderProbe = parameters.encoderProbe;
    this.#clock = parameters.clock;
    this.#openVideoEncoder = parameters.openVideoEncoder;
    this.#games = new Map(parameters.games.map((game) => [game.info.id, game]));
    if (parameters.packageGames) this.#packageGames = new PackageGames(parameters.packageGames, log);
    if (config.matchmakerPublicKey) {
      this.sessionPublicKey = config.matchmakerPublicKey;
      this.#verifyKey = importSessionPublicKey(config.matchmakerPublicKey);
    } else {
      const pair = generateSessionKeyPair();
      this.sessionPublicKey = pair.publicKey;
      this.#verifyKey = importSessionPublicKey(pair.publicKey);
      this.#signKey = importSessionPrivateKey(pair.privateKey);
    }
    if (config.publicUrl) this.#url = config.publicUrl.replace(/\/$/, '');
    this.#spentTokens = new SpentTokens({ file: config.spentTokensFile });
  }

  /** Base URL of the edge (publicUrl, or the address it listens on), once known. */
  get url(): string | undefined {
    return this.#url;
  }

  /** Sets the URL the edge is reached at when no publicUrl is configured (EdgeServer does, once listening). */
  setListenUrl(url: string): void {
    if (!this.config.publicUrl) this.#url = url.replace(/\/$/, '');
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True when the edge mints its own tokens (no matchmaker key configured). */
  get standalone(): boolean {
    return this.#signKey !== undefined;
  }

  /** The games this edge runs. */
  games(): GameInfo[] {
    return [...this.#games.values()].map((game) => game.info);
  }

  /**
   * The catalogue picture of `gameId`: a PNG of one of its real frames (made once, then kept); undefined
   * for no such game, or a game that cannot be rendered off-line.
   */
  thumbnail(gameId: string): Promise<Buffer | undefined> {
    const game = this.#games.get(gameId);
    if (game === undefined) return Promise.resolve(undefined);
    let png = this.#thumbnails.get(gameId);
    if (png === undefined) {
      png = renderThumbnail(game);
      this.#thumbnails.set(gameId, png);
    }
    return png;
  }

  /** Registration / heartbeat figures. */
  info(): EdgeInfo {
    // Probe sessions yield their slot to any player, so they are not counted.
    const active = this.#sessions.size - this.#probes.size;
    return {
      id: this.id,
      url: this.#url,
      region: this.config.region,
      lat: this.config.lat,
      lon: this.config.lon,
      gpu: this.config.gpu,
      pricePerMinute: this.config.pricePerMinute,
      standalone: this.standalone,
      encoders: [...this.encoderProbe.working],
      encoder: this.encoderProbe.selected ?? 'none',
      capacity: this.config.capacity,
      activeSessions: active,
      freeSlots: Math.max(0, this.config.capacity - active),
      encodeHeadroom: this.#encodeHeadroom(),
      games: this.games(),
      runtimes: [...(this.#packageGames?.runtimes ?? [])],
    };
  }

  #encodeHeadroom(): number {
    let busyCores = 0;
    for (const session of this.#sessions.values()) {
      const { p50 } = session.statistics.encodeTimes.summary();
      busyCores += (p50 * session.gameInfo.fps) / 1000;
    }
    const cores = availableParallelism();
    return Math.round(Math.max(0, Math.min(1, 1 - busyCores / cores)) * 1000) / 1000;
  }

  /** Edge-side timings and per-session counters. */
  stats(): EdgeStats {
    const edge: number[] = [];
    const encode: number[] = [];
    const capture: number[] = [];
    const sessions: StreamSessionStats[] = [];
    for (const session of this.#sessions.values()) {
      session.statistics.edgeTimes.collect(edge);
      session.statistics.encodeTimes.collect(encode);
      session.statistics.captureTimes.collect(capture);
      sessions.push(session.stats());
    }
    return {
      edgeMs: summarize(edge),
      encodeMs: summarize(encode),
      captureMs: summarize(capture),
      sessions,
      endedByCode: { ...this.#endedByCode },
    };
  }

  /** Clears the timing windows of running sessions (benches call it after warm-up). */
  resetTimings(): void {
    for (const session of this.#sessions.values()) session.statistics.resetTimings();
  }

  /** Ids of the running players' sessions (probe sessions are not players': the matchmaker never hears of them). */
  sessionIds(): string[] {
    return [...this.#sessions.keys()].filter((id) => !this.#probes.has(id));
  }

  /** Ids of the running probe sessions (checkers' synthetic sessions). */
  probeSessionIds(): string[] {
    return [...this.#probes];
  }

  /** The running session `sessionId` (its stats and periods), if any. */
  session(sessionId: string): StreamSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Ends a running session (`ended` with `reason`, close 1000); false if there is no such session. */
  endSession(sessionId: string, reason = 'ended by the edge'): boolean {
    const session = this.#sessions.get(sessionId);
    if (!session) return false;
    session.close(reason, SignalCloseCodes.ENDED);
    return true;
  }

  /**
   * Standalone mode: mints a session token for `gameId` on this edge (what `POST /v1/sessions` answers).
   * Throws FarplayError `EDGE_UNKNOWN_GAME`, `EDGE_FULL`, or `EDGE_BAD_CONFIG` when not standalone.
   */
  createSession(gameId: string, baseUrl?: string): CreateSessionResponse {
    if (!this.#signKey)
      throw new FarplayError('EDGE_BAD_CONFIG', 'this edge takes tokens from its matchmaker');
    if (!this.#games.has(gameId))
      throw new FarplayError('EDGE_UNKNOWN_GAME', `no game ${gameId} on this edge`);
    if (this.#sessions.size >= this.config.capacity) throw new FarplayError('EDGE_FULL');
    const url = baseUrl ?? this.#url;
    if (!url) throw new FarplayError('EDGE_BAD_CONFIG', 'the edge is not listening yet');
    return mintSessionToken({
      sessionId: randomUUID(),
      gameId,
      edge: { edgeId: this.id, region: this.config.region, url },
      privateKey: this.#signKey,
      ttlSeconds: this.config.tokenTtlSeconds,
    });
  }

  /**
   * Makes the game of `token` ready for admission: a studio package game is looked up (its manifest
   * fetched from the matchmaker) before the session starts. Never throws: admission then refuses what it
   * cannot find (EDGE_UNKNOWN_GAME).
   */
  async prepareGame(token: string | null): Promise<void> {
    if (!this.#packageGames || !this.#verifyKey) return;
    let claims: SessionClaims;
    try {
      claims = verifySessionToken({ token, publicKey: this.#verifyKey, edgeId: this.id });
    } catch {
      return;
    }
    if (this.#games.has(claims.gameId)) return;
    await this.#packageGames.prepare(claims);
  }

  /**
   * A player's signalling socket with its token: admits it and starts its session, or refuses it with
   * an `error` message (catalogue code) and the matching close code.
   */
  acceptSignalSocket(socket: SignalSocket, token: string | null): void {
    let admitted: Admission;
    try {
      admitted = this.#admit(token);
    } catch (error) {
      const closeCode = refuseSignalSocket(socket, error);
      this.#endedByCode[closeCode] = (this.#endedByCode[closeCode] ?? 0) + 1;
      return;
    }
    const logger = this.#sessionLogger(admitted);
    const channel = new SignalChannel(socket, {
      maxMessagesPerSecond: this.config.maxSignalMessagesPerSecond,
      logger,
    });
    const session = this.#startSession(
      admitted,
      new WebSocketSignalling(channel, logger, this.config.allowPrivateCandidates),
      logger,
    );
    // Failures close the session and tell the player; nothing is left to do with them here.
    session.start().catch(() => {});
  }

  /**
   * WHEP (watch only): admits `token` like signalling does, answers the viewer's SDP offer. Resolves to
   * the session id and the SDP answer. Throws FarplayError (`EDGE_BAD_TOKEN`, `EDGE_FULL`, `EDGE_BAD_SDP`…).
   */
  async startWhep(token: string | null, offerSdp: string): Promise<{ sessionId: string; answer: string }> {
    await this.prepareGame(token);
    const admitted = this.#admit(token);
    const logger = this.#sessionLogger(admitted);
    const session = this.#startSession(
      admitted,
      new WhepSignalling(offerSdp, this.config.allowPrivateCandidates),
      logger,
    );
    const answer = await session.start();
    if (answer === undefined) throw new FarplayError('EDGE_BAD_SDP', 'no WHEP answer');
    return { sessionId: session.sessionId, answer };
  }

  /** Ends a WHEP session if `token` is the one it was started with. */
  endWhep(sessionId: string, token: string | null): boolean {
    let claims: SessionClaims;
    try {
      claims = verifySessionToken({
        token,
        publicKey: this.#verifyKey,
        edgeId: this.id,
        skewSeconds: 86_400,
      });
    } catch {
      return false;
    }
    if (claims.sid !== sessionId) return false;
    return this.endSession(sessionId, 'ended by WHEP DELETE');
  }

  /** Ends every session (close 1001) and refuses new ones. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()])
      session.close('edge shutting down', SignalCloseCodes.GOING_AWAY);
  }

  /** Checks a token and a free slot; throws AdmissionRefused when the session cannot start. */
  #admit(token: string | null): Admission {
    if (this.#closed) {
      throw new AdmissionRefused(
        SignalCloseCodes.GOING_AWAY,
        new FarplayError('EDGE_FULL', 'the edge is shutting down'),
      );
    }
    let claims: SessionClaims;
    try {
      claims = verifySessionToken({ token, publicKey: this.#verifyKey, edgeId: this.id });
    } catch (error) {
      throw new AdmissionRefused(
        SignalCloseCodes.BAD_TOKEN,
        findError(error) ?? new FarplayError('EDGE_BAD_TOKEN'),
      );
    }
    const game = this.#games.get(claims.gameId) ?? this.#packageGames?.find(claims);
    if (!game)
      throw new AdmissionRefused(SignalCloseCodes.UNKNOWN_GAME, new FarplayError('EDGE_UNKNOWN_GAME'));
    if (this.#sessions.has(claims.sid)) {
      throw new AdmissionRefused(SignalCloseCodes.SESSION_IN_USE, new FarplayError('EDGE_SESSION_IN_USE'));
    }
    if (this.#spentTokens.has(claims.sid)) {
      throw new AdmissionRefused(SignalCloseCodes.TOKEN_USED, new FarplayError('EDGE_TOKEN_USED'));
    }
    const encoder = this.encoderProbe.selected;
    if (!encoder) throw new AdmissionRefused(SignalCloseCodes.INTERNAL, new FarplayError('EDGE_NO_ENCODER'));
    const slots = {
      sessions: this.#sessions.size,
      probes: this.#probes.size,
      capacity: this.config.capacity,
    };
    if (claimSlot(slots, claims.prb !== undefined)) {
      for (const id of this.#probes) {
        this.#sessions.get(id)?.close('a player needs the probe session’s slot', SignalCloseCodes.ENDED);
      }
    }
    // Admitted: the token is spent (a token refused above, e.g. on a full edge, may still be tried again).
    this.#spentTokens.spend(claims.sid, claims.exp);
    return { claims, game, encoder };
  }

  #sessionLogger(admitted: Admission): Logger {
    return this.#log.child({ sessionId: admitted.claims.sid, gameId: admitted.game.info.id });
  }

  #startSession(admitted: Admission, signalling: SessionSignalling, logger: Logger): StreamSession {
    const { claims, game, encoder } = admitted;
    const session = new StreamSession({
      sessionId: claims.sid,
      game,
      config: this.config,
      encoder,
      encoderThreads: this.config.encoderThreads || (this.#sessions.size < availableParallelism() ? 2 : 1),
      signalling,
      logger,
      ...(this.#clock ? { clock: this.#clock } : {}),
      ...(this.#openVideoEncoder ? { openVideoEncoder: this.#openVideoEncoder } : {}),
    });
    this.#sessions.set(claims.sid, session);
    const probe = claims.prb !== undefined;
    if (probe) this.#probes.add(claims.sid);
    session.once('ended', (reason, code) => {
      this.#sessions.delete(claims.sid);
      this.#probes.delete(claims.sid);
      this.#endedByCode[code] = (this.#endedByCode[code] ?? 0) + 1;
      if (!probe) this.emit('sessionEnded', { sessionId: claims.sid, reason, code });
    });
    // A probe session is the checker's, not a player's: no billing, no session reports to the matchmaker.
    if (probe) {
      logger.info({ checker: claims.prb }, 'probe session');
      return session;
    }
    this.emit('sessionStarted', {
      sessionId: claims.sid,
      gameId: game.info.id,
      ...(claims.chk
        ? {
            checkers: claims.chk,
            quorum: claims.q ?? claims.chk.length,
            billingId: claims.bid ?? billingSessionId(claims.sid),
          }
        : {}),
      ...(claims.own ? { owner: claims.own } : {}),
    });
    return session;
  }
}
