import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { availableParallelism } from 'node:os';
import type { Duplex } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type WebSocket, WebSocketServer } from 'ws';
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
import { type EdgeMessage, MAX_SIGNAL_MESSAGE_BYTES, SignalCloseCodes } from '../protocol/signaling.js';
import type { EdgeConfig } from './config.js';
import { builtInGames } from './games/builtInGames.js';
import type { GameDefinition } from './games/GameRuntime.js';
import { renderThumbnail } from './games/renderThumbnail.js';
import { registerEdgeRoutes } from './http/registerEdgeRoutes.js';
import type { PacerClock } from './media/FramePacer.js';
import { type ProbeEncodersResult, probeEncoders } from './media/probeEncoders.js';
import { summarize, type TimingSummary } from './media/TimingWindow.js';
import { StreamSession, type StreamSessionStats } from './session/StreamSession.js';

export interface CreateEdgeParameters {
  config: Readonly<EdgeConfig>;
  logger: Logger;
  /** Games this edge runs (default: the built-in ones). */
  games?: GameDefinition[];
  /** A probe result to use instead of probing (tests that start many edges). */
  encoderProbe?: ProbeEncodersResult;
  /** Clock for the frame pacers (default: performance.now and Node timers). */
  clock?: PacerClock;
}

/** What `edge.info()` reports; the matchmaker's registration and heartbeats carry it. */
export interface EdgeInfo {
  id: string;
  url: string | undefined;
  region: string;
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
}

/** What `edge.stats()` reports: edge-side figures for benches and QoS. */
export interface EdgeStats {
  /** Frame ready → last RTP packet sent, ms, over the recent frames of all sessions. */
  edgeMs: TimingSummary;
  /** Time inside the encoder per frame, ms. */
  encodeMs: TimingSummary;
  sessions: StreamSessionStats[];
  /** Sessions ended since start, by close code. */
  endedByCode: Record<string, number>;
}

export interface EdgeEvents {
  sessionStarted: [{ sessionId: string; gameId: string }];
  sessionEnded: [{ sessionId: string; reason: string; code: number }];
}

/** A token that passed the checks, with what its session needs. */
interface Admission {
  claims: SessionClaims;
  game: GameDefinition;
  encoder: string;
}

/** A running edge: HTTP + signalling server, encoder probe, sessions. Build it with `createEdge`. */
export class Edge extends EventEmitter<EdgeEvents> {
  /** The edge's identity: the address of its secp256k1 node key. */
  readonly id: string;
  /** The fastify app (routes are registered; add more before `listen`). */
  readonly app: FastifyInstance;
  readonly config: Readonly<EdgeConfig>;
  readonly encoderProbe: ProbeEncodersResult;
  /** Standalone mode: the Ed25519 public key (base64url spki) its session tokens verify with. */
  readonly sessionPublicKey: string;
  readonly #log: Logger;
  readonly #games: Map<string, GameDefinition>;
  readonly #thumbnails = new Map<string, Buffer>();
  readonly #sessions = new Map<string, StreamSession>();
  readonly #verifyKey: ReturnType<typeof importSessionPublicKey>;
  readonly #signKey: ReturnType<typeof importSessionPrivateKey> | undefined;
  readonly #wss: WebSocketServer;
  readonly #clock: PacerClock | undefined;
  readonly #endedByCode: Record<string, number> = {};
  #url: string | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal use createEdge */
  constructor(parameters: {
    config: Readonly<EdgeConfig>;
    logger: Logger;
    games: GameDefinition[];
    encoderProbe: ProbeEncodersResult;
    clock: PacerClock | undefined;
  }) {
    super();
    const { config } = parameters;
    this.config = config;
    this.encoderProbe = parameters.encoderProbe;
    this.#clock = parameters.clock;
    const account = privateKeyToAccount((config.nodePrivateKey ?? generatePrivateKey()) as `0x${string}`);
    this.id = account.address;
    this.#log = parameters.logger.child({ edgeId: this.id });
    this.#games = new Map(parameters.games.map((game) => [game.info.id, game]));
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
    this.app = fastify({
      loggerInstance: this.#log,
      bodyLimit: MAX_SIGNAL_MESSAGE_BYTES,
    }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;
    // Messages up to 1 MiB are read so an oversized one can be refused with our own close code (4413).
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
    this.app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(request, socket, head),
    );
    registerEdgeRoutes(this.app, this);
  }

  /** Base URL of the edge (publicUrl, or the address it listens on), once known. */
  get url(): string | undefined {
    return this.#url;
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

  /** The catalogue picture of `gameId`: a PNG of one of its real frames (made once, then kept); undefined for no such game. */
  thumbnail(gameId: string): Buffer | undefined {
    const game = this.#games.get(gameId);
    if (game === undefined) return undefined;
    let png = this.#thumbnails.get(gameId);
    if (png === undefined) {
      png = renderThumbnail(game);
      this.#thumbnails.set(gameId, png);
    }
    return png;
  }

  /** Registration / heartbeat figures. */
  info(): EdgeInfo {
    const active = this.#sessions.size;
    return {
      id: this.id,
      url: this.#url,
      region: this.config.region,
      standalone: this.standalone,
      encoders: [...this.encoderProbe.working],
      encoder: this.encoderProbe.selected ?? 'none',
      capacity: this.config.capacity,
      activeSessions: active,
      freeSlots: Math.max(0, this.config.capacity - active),
      encodeHeadroom: this.#encodeHeadroom(),
      games: this.games(),
    };
  }

  #encodeHeadroom(): number {
    let busyCores = 0;
    for (const session of this.#sessions.values()) {
      const { p50 } = session.encodeTimes.summary();
      busyCores += (p50 * session.gameInfo.fps) / 1000;
    }
    const cores = availableParallelism();
    return Math.round(Math.max(0, Math.min(1, 1 - busyCores / cores)) * 1000) / 1000;
  }

  /** Edge-side timings and per-session counters. */
  stats(): EdgeStats {
    const edge: number[] = [];
    const encode: number[] = [];
    const sessions: StreamSessionStats[] = [];
    for (const session of this.#sessions.values()) {
      session.edgeTimes.collect(edge);
      session.encodeTimes.collect(encode);
      sessions.push(session.stats());
    }
    return {
      edgeMs: summarize(edge),
      encodeMs: summarize(encode),
      sessions,
      endedByCode: { ...this.#endedByCode },
    };
  }

  /** Clears the timing windows of running sessions (benches call it after warm-up). */
  resetTimings(): void {
    for (const session of this.#sessions.values()) {
      session.edgeTimes.clear();
      session.encodeTimes.clear();
    }
  }

  /** Ids of the running sessions. */
  sessionIds(): string[] {
    return [...this.#sessions.keys()];
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

  /** Starts listening; resolves to the edge URL. Port 0 picks a free port. */
  async listen(options: { host?: string; port?: number } = {}): Promise<string> {
    const host = options.host ?? this.config.host;
    const address = await this.app.listen({ host, port: options.port ?? this.config.port });
    if (!this.config.publicUrl) {
      const url = new URL(address);
      if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
      this.#url = url.origin;
    }
    this.#log.info(
      {
        url: this.#url,
        encoder: this.encoderProbe.selected,
        standalone: this.standalone,
        capacity: this.config.capacity,
      },
      'edge listening',
    );
    return this.#url ?? address;
  }

  /** Ends every session (close 1001), stops the servers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const session of [...this.#sessions.values()])
      session.close('edge shutting down', SignalCloseCodes.GOING_AWAY);
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await this.app.close();
  }

  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://edge');
    } catch {
      socket.destroy();
      return;
    }
    if (url.pathname !== '/v1/signal' || this.#closed) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) =>
      this.#onSignalSocket(ws, url.searchParams.get('token')),
    );
  }

  #refuse(ws: WebSocket, code: number, error: FarplayError): void {
    const message: EdgeMessage = { type: 'error', code: error.code, message: error.message };
    ws.send(JSON.stringify(message));
    ws.close(code, error.code);
    this.#endedByCode[code] = (this.#endedByCode[code] ?? 0) + 1;
  }

  /** Checks a token and a free slot; throws `{ closeCode, error }` when the session cannot start. */
  #admit(token: string | null): Admission {
    const refuse = (closeCode: number, error: FarplayError) => Object.assign(error, { closeCode });
    let claims: SessionClaims;
    try {
      claims = verifySessionToken({ token, publicKey: this.#verifyKey, edgeId: this.id });
    } catch (error) {
      throw refuse(SignalCloseCodes.BAD_TOKEN, findError(error) ?? new FarplayError('EDGE_BAD_TOKEN'));
    }
    const game = this.#games.get(claims.gameId);
    if (!game) throw refuse(SignalCloseCodes.UNKNOWN_GAME, new FarplayError('EDGE_UNKNOWN_GAME'));
    if (this.#sessions.has(claims.sid)) {
      throw refuse(SignalCloseCodes.SESSION_IN_USE, new FarplayError('EDGE_SESSION_IN_USE'));
    }
    const encoder = this.encoderProbe.selected;
    if (!encoder) throw refuse(SignalCloseCodes.INTERNAL, new FarplayError('EDGE_NO_ENCODER'));
    if (this.#sessions.size >= this.config.capacity)
      throw refuse(SignalCloseCodes.EDGE_FULL, new FarplayError('EDGE_FULL'));
    return { claims, game, encoder };
  }

  #createStreamSession(admitted: Admission, ws: WebSocket | undefined): StreamSession {
    const { claims, game, encoder } = admitted;
    const session = new StreamSession({
      sessionId: claims.sid,
      game,
      config: this.config,
      encoder,
      encoderThreads: this.config.encoderThreads || (this.#sessions.size < availableParallelism() ? 2 : 1),
      ...(ws ? { socket: ws } : {}),
      logger: this.#log.child({ sessionId: claims.sid, gameId: game.info.id }),
      ...(this.#clock ? { clock: this.#clock } : {}),
    });
    this.#sessions.set(claims.sid, session);
    session.once('ended', (reason, code) => {
      this.#sessions.delete(claims.sid);
      this.#endedByCode[code] = (this.#endedByCode[code] ?? 0) + 1;
      this.#emitSafely('sessionEnded', { sessionId: claims.sid, reason, code });
    });
    this.#emitSafely('sessionStarted', { sessionId: claims.sid, gameId: game.info.id });
    return session;
  }

  #onSignalSocket(ws: WebSocket, token: string | null): void {
    ws.on('error', (error) => this.#log.debug({ err: error }, 'signalling socket error'));
    let admitted: Admission;
    try {
      admitted = this.#admit(token);
    } catch (error) {
      const refusal = error as FarplayError & { closeCode: number };
      this.#refuse(ws, refusal.closeCode, refusal);
      return;
    }
    void this.#createStreamSession(admitted, ws).start();
  }

  /**
   * WHEP (watch only): admits `token` like signalling does, answers the viewer's SDP offer. Resolves to
   * the session id and the SDP answer. Throws FarplayError (`EDGE_BAD_TOKEN`, `EDGE_FULL`, `EDGE_BAD_SDP`…).
   */
  async startWhep(token: string | null, offerSdp: string): Promise<{ sessionId: string; answer: string }> {
    const admitted = this.#admit(token);
    const session = this.#createStreamSession(admitted, undefined);
    const answer = await session.startWhep(offerSdp);
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

  /** Listeners belong to other parts; one that throws must not break a session. */
  #emitSafely<K extends keyof EdgeEvents>(event: K, ...args: EdgeEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: EdgeEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.#log.error({ err: error, event }, 'edge event listener threw');
    }
  }
}

/**
 * Builds an edge: probes the H.264 encoders (unless a probe result is given), makes or loads its keys
 * and registers its routes. Call `listen()` to serve.
 */
export async function createEdge(parameters: CreateEdgeParameters): Promise<Edge> {
  const encoderProbe =
    parameters.encoderProbe ?? (await probeEncoders({ candidates: parameters.config.encoders }));
  parameters.logger.info(
    { encoders: encoderProbe.probes, selected: encoderProbe.selected ?? null },
    encoderProbe.selected ? `H.264 encoder: ${encoderProbe.selected}` : 'no working H.264 encoder',
  );
  return new Edge({
    config: parameters.config,
    logger: parameters.logger,
    games: parameters.games ?? builtInGames(parameters.config.pricePerMinute),
    encoderProbe,
    clock: parameters.clock,
  });
}
