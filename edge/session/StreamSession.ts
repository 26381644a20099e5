import type { Logger } from 'pino';
import type { RTCPeerConnection, RTCRtpSender } from 'werift';
import { type ErrorCode, ErrorCodes, FarplayError, findError } from '../../protocol/errors.js';
import type { GameInfo } from '../../protocol/playerApi.js';
import { AUTO_BITRATE_KBPS, SignalCloseCodes } from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import type { EdgeConfig } from '../config.js';
import type { GameDefinition, GameRuntime } from '../games/GameRuntime.js';
import { type PacerClock, systemClock } from '../media/FramePacer.js';
import { negotiatedFec } from '../media/fec/VideoFec.js';
import { MediaPipeline } from '../media/MediaPipeline.js';
import type { OpenVideoEncoder } from '../media/MediaPipelineOptions.js';
import type { VideoRateControlStats } from '../media/VideoRateControl.js';
import { createPeerConnection } from './createPeerConnection.js';
import type { InputTransport } from './InputChannel.js';
import { InputHandler } from './InputHandler.js';
import type { SessionFailure } from './SessionFailure.js';
import type { ControlMessage, SessionSignalling } from './SessionSignalling.js';
import { SessionStats } from './SessionStats.js';

/** What a StreamSession is built from. */
export interface StreamSessionOptions {
  sessionId: string;
  game: GameDefinition;
  config: Readonly<EdgeConfig>;
  /** The H.264 encoder this edge selected at start-up. */
  encoder: string;
  /** Encoder threads for this session (default config.encoderThreads, or 1 when that is 0 = auto). */
  encoderThreads?: number;
  /** How the session talks to its player: WebSocketSignalling or WhepSignalling. */
  signalling: SessionSignalling;
  logger: Logger;
  clock?: PacerClock;
  /** Wall clock for frame stamps (default Date.now). */
  wallClock?: () => number;
  /** Opens H.264 encoders (default H264Encoder.open). */
  openVideoEncoder?: OpenVideoEncoder;
}

/** Per-session counters and current settings (see `StreamSession.stats`). */
export interface StreamSessionStats {
  sessionId: string;
  gameId: string;
  state: 'starting' | 'connecting' | 'streaming' | 'closed';
  width: number;
  height: number;
  fps: number;
  encoder: string;
  bitrateKbps: number;
  framesSent: number;
  framesDroppedBusy: number;
  framesDroppedLate: number;
  /** Frames not encoded because the pacer held too much video (congestion control). */
  framesDroppedCongested: number;
  /** Encoded frames a keyframe replaced while still queued in the pacer (congestion control). */
  framesSuperseded: number;
  keyframes: number;
  bytesSent: number;
  inputMessages: number;
  badInputMessages: number;
  lastInputSeq: number;
  /** Held-key refreshes received, and held keys the edge released because their refreshes stopped. */
  keyRefreshes: number;
  staleKeysReleased: number;
  audioPackets: number;
  nacks: number;
  plis: number;
  firs: number;
  /** The player negotiated the Dependency Descriptor: every video packet carries one (and FEC may run). */
  dependencyDescriptor: boolean;
  /** The bandwidth adaptation (estimate, target, cap, picture, why), when transport-cc runs. */
  congestion?: VideoRateControlStats;
}

/** Events of a StreamSession. */
export type StreamSessionEvents = {
  /** The session ended (once): why, and the signalling close code. */
  ended: [reason: string, code: number];
};

/**
 * One player's stream, as a state machine (starting → connecting → streaming → closed) over its parts:
 * the game, the media pipeline (encoders, pacers, RTP), the peer connection, the input handler and the
 * signalling adapter (WebSocket or WHEP). Every failure path ends in the idempotent `close()`, which
 * closes every part it owns.
 */
export class StreamSession extends TypedEmitter<StreamSessionEvents> {
  readonly sessionId: string;
  readonly gameInfo: GameInfo;
  /** Cumulative counters, recent timings and the per-period window (QoS reports take periods from it). */
  readonly statistics: SessionStats;
  readonly #options: StreamSessionOptions;
  readonly #config: Readonly<EdgeConfig>;
  readonly #signalling: SessionSignalling;
  readonly #log: Logger;
  readonly #clock: PacerClock;
  #state: StreamSessionStats['state'] = 'starting';
  #game: GameRuntime | undefined;
  #media: MediaPipeline | undefined;
  /** The player asked for frame stamps (its latency overlay, a benchmark). */
  #stamps = false;
  #peer: RTCPeerConnection | undefined;
  #input: InputHandler | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #disconnectTimer: NodeJS.Timeout | undefined;
  /** The negotiated senders; media starts on them once the peer connects. */
  #senders: { video: RTCRtpSender; audio: RTCRtpSender | undefined } | undefined;
  #paused: { code: ErrorCode; message: string } | undefined;
  #closed = false;

  constructor(options: StreamSessionOptions) {
    super({
      // close() runs from timers, socket events and the media loop: a throwing listener must not escape.
      onListenerError: (error, event) =>
        options.logger.error({ err: error, event }, 'session listener threw'),
    });
    this.sessionId = options.sessionId;
    this.gameInfo = options.game.info;
    this.#options = options;
    this.#config = options.config;
    this.#signalling = options.signalling;
    this.#log = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.statistics = new SessionStats(() => this.#clock.now());
    this.#signalling.on('control', (message) => this.#onControl(message));
    this.#signalling.on('failed', (failure) => this.#fail(failure));
    this.#signalling.on('closed', () => this.close('signalling socket closed', SignalCloseCodes.ENDED));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get state(): StreamSessionStats['state'] {
    return this.#state;
  }

  /** Why the stream is paused (billing: edge/billing/BillingGate.ts), or undefined while it is sent. */
  get paused(): { code: ErrorCode; message: string } | undefined {
    return this.#paused;
  }

  /**
   * Stops sending video and audio, keeping the connection, the game and input, and tells the player why (`paused`
   * with `code`). A new code replaces the old one; `resume()` sends again.
   */
  pause(code: ErrorCode, message: string = ErrorCodes[code].message): void {
    if (this.#closed || this.#paused?.code === code) return;
    this.#paused = { code, message };
    this.#media?.pause();
    this.#signalling.send({ type: 'paused', code, message });
    this.#log.info({ code }, 'stream paused');
  }

  /** Sends the stream again after `pause` (a keyframe first) and tells the player (`resumed`). */
  resume(): void {
    if (this.#closed || this.#paused === undefined) return;
    this.#paused = undefined;
    this.#media?.resume();
    this.#signalling.send({ type: 'resumed' });
    this.#log.info('stream resumed');
  }

  /** Counters and current settings. */
  stats(): StreamSessionStats {
    const counters = this.statistics.counters();
    const media = this.#media;
    const info = this.gameInfo;
    return {
      sessionId: this.sessionId,
      gameId: info.id,
      state: this.#state,
      width: media?.width ?? info.width,
      height: media?.height ?? info.height,
      fps: media?.fps ?? info.fps,
      encoder: this.#options.encoder,
      bitrateKbps: media?.bitrateKbps ?? this.#config.videoBitrateKbps,
      framesSent: counters.framesSent,
      framesDroppedBusy: media?.droppedBusy ?? 0,
      framesDroppedLate: media?.droppedLate ?? 0,
      framesDroppedCongested: media?.droppedCongested ?? 0,
      framesSuperseded: media?.superseded ?? 0,
      keyframes: counters.keyframes,
      bytesSent: counters.bytesSent,
      inputMessages: counters.inputMessages,
      badInputMessages: counters.badInputMessages,
      lastInputSeq: counters.lastInputSeq,
      keyRefreshes: counters.keyRefreshes,
      staleKeysReleased: counters.staleKeysReleased,
      audioPackets: counters.audioPackets,
      nacks: counters.nacks,
      plis: counters.plis,
      firs: counters.firs,
      dependencyDescriptor: media?.dependencyDescriptor ?? false,
      ...(media?.rateControl ? { congestion: media.rateControl } : {}),
    };
  }

  /**
   * Checks what the player sent, starts the game, opens the encoders and the peer and runs the
   * signalling exchange. Resolves to the SDP answer for WHEP (undefined for WebSocket signalling, which
   * sends its offer itself). On failure the session is closed first, then the FarplayError is thrown.
   */
  async start(): Promise<string | undefined> {
    const whep = this.#signalling.kind === 'whep';
    try {
      this.#connectTimer = setTimeout(
        () =>
          this.#fail({
            code: 'EDGE_PEER_FAILED',
            message: 'peer did not connect in time',
            closeCode: SignalCloseCodes.PEER_FAILED,
          }),
        this.#config.connectTimeoutSeconds * 1000,
      );
      this.#signalling.validate();
      await this.#startGame();
      this.#throwIfClosed();
      await this.#media?.open();
      this.#throwIfClosed();
      const peer = createPeerConnection(this.#config);
      this.#peer = peer;
      peer.connectionStateChange.subscribe((state) => this.#onConnectionState(state));
      const media = this.#media as MediaPipeline;
      const negotiated = await this.#signalling.negotiate(peer, {
        sessionId: this.sessionId,
        gameId: this.gameInfo.id,
        width: media.width,
        height: media.height,
        fps: this.gameInfo.fps,
        encoder: this.#options.encoder,
      });
      this.#throwIfClosed();
      this.#senders = { video: negotiated.video, audio: negotiated.audio };
      if (negotiated.input) this.#startInput(negotiated.input);
      this.#state = 'connecting';
      // WHEP: ICE can complete while the answer waits for gathering, before the senders were known.
      if (peer.connectionState === 'connected') this.#onConnectionState('connected');
      return negotiated.answerSdp;
    } catch (error) {
      const known =
        findError(error) ??
        (whep
          ? new FarplayError('EDGE_BAD_SDP', 'WHEP offer failed', { cause: error })
          : new FarplayError('INTERNAL', 'session failed to start', { cause: error }));
      if (!this.#closed) this.#log.error({ err: error }, 'session failed to start');
      this.#fail({
        code: known.code,
        message: known.message,
        closeCode: whep ? SignalCloseCodes.BAD_MESSAGE : SignalCloseCodes.INTERNAL,
      });
      throw known;
    }
  }

  #throwIfClosed(): void {
    if (this.#closed) throw new FarplayError('EDGE_PEER_FAILED', 'session closed while starting');
  }

  async #startGame(): Promise<void> {
    const info = this.gameInfo;
    const game = await this.#options.game.create({
      width: info.width,
      height: info.height,
      nowMs: this.#clock.now(),
      wallClock: this.#options.wallClock ?? Date.now,
    });
    this.#game = game;
    if (this.#closed) {
      await this.#closeGame();
      return;
    }
    game.onExit((exit) => {
      this.#log.warn({ exit }, 'game exited');
      this.#fail({
        code: exit.crashed ? 'EDGE_GAME_CRASHED' : 'EDGE_GAME_EXITED',
        message: `the game stopped: ${exit.reason}`,
        closeCode: SignalCloseCodes.INTERNAL,
      });
    });
    const config = this.#config;
    const media = new MediaPipeline({
      source: game.frames,
      encoder: this.#options.encoder,
      threads: this.#options.encoderThreads ?? (config.encoderThreads || 1),
      width: info.width,
      height: info.height,
      fps: info.fps,
      videoBitrateKbps: config.videoBitrateKbps,
      audioBitrateKbps: config.audioBitrateKbps,
      zeroPlayoutDelay: config.zeroPlayoutDelay,
      stats: this.statistics,
      ...(config.congestionControl
        ? {
            rateControl: {
              minKbps: config.minVideoBitrateKbps,
              maxKbps: config.maxVideoBitrateKbps,
              adaptResolution: config.adaptResolution,
              fec: config.fec,
            },
          }
        : {}),
      clock: this.#clock,
      wallClock: this.#options.wallClock ?? Date.now,
      logger: this.#log,
      ...(this.#options.openVideoEncoder ? { openVideoEncoder: this.#options.openVideoEncoder } : {}),
    });
    this.#media = media;
    media.stamps = this.#stamps;
    if (this.#paused !== undefined) media.pause();
    media.on('quality', (report) => this.#signalling.send({ type: 'quality', ...report }));
    media.on('failed', () =>
      this.#fail({
        code: 'EDGE_ENCODER_FAILED',
        message: 'the encoder failed',
        closeCode: SignalCloseCodes.INTERNAL,
      }),
    );
  }

  #startInput(transport: InputTransport): void {
    const input = new InputHandler({
      transport,
      maxMessagesPerSecond: this.#config.maxInputMessagesPerSecond,
      stats: this.statistics,
      apply: (message) => this.#game?.input(message),
      logger: this.#log,
    });
    this.#input = input;
    input.on('violation', (failure) => this.#fail(failure));
  }

  #onConnectionState(state: string): void {
    if (this.#closed) return;
    this.#log.debug({ state }, 'peer connection state');
    if (state === 'connected') {
      if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
      this.#disconnectTimer = undefined;
      if (this.#connectTimer) clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      if (this.#state !== 'streaming' && this.#senders) {
        this.#state = 'streaming';
        const { video, audio } = this.#senders;
        const peer = this.#peer;
        this.#media?.start(
          video,
          audio,
          negotiatedFec(video, peer?.localDescription?.sdp, peer?.remoteDescription?.sdp),
        );
        this.#log.info('streaming');
      }
    } else if (state === 'disconnected') {
      // Consent lost or the path is gone: give it a moment to come back, then end the session.
      this.#disconnectTimer ??= setTimeout(
        () =>
          this.#fail({
            code: 'EDGE_PEER_FAILED',
            message: 'peer disconnected',
            closeCode: SignalCloseCodes.PEER_FAILED,
          }),
        this.#config.disconnectTimeoutSeconds * 1000,
      );
    } else if (state === 'failed') {
      this.#fail({
        code: 'EDGE_PEER_FAILED',
        message: 'ICE/DTLS failed',
        closeCode: SignalCloseCodes.PEER_FAILED,
      });
    } else if (state === 'closed') {
      this.close('peer closed', SignalCloseCodes.ENDED);
    }
  }

  #onControl(message: ControlMessage): void {
    if (this.#closed) return;
    this.#control(message).catch((error: unknown) => {
      const known = findError(error);
      this.#log.warn({ err: error }, 'signalling message failed');
      this.#fail({
        code: known?.code ?? 'EDGE_BAD_MESSAGE',
        message: known?.message ?? 'signalling failed',
        closeCode: SignalCloseCodes.BAD_MESSAGE,
      });
    });
  }

  async #control(message: ControlMessage): Promise<void> {
    switch (message.type) {
      case 'keyframe':
        this.#media?.requestKeyframe();
        return;
      case 'bitrate': {
        const config = this.#config;
        // A cap: the congestion controller moves the bitrate under it. "Auto" lifts it (without
        // congestion control, the bitrate goes back to the edge's start bitrate).
        this.#media?.setCap(
          message.kbps >= AUTO_BITRATE_KBPS
            ? null
            : Math.min(config.maxVideoBitrateKbps, Math.max(config.minVideoBitrateKbps, message.kbps)),
        );
        return;
      }
      case 'resize':
        if (message.width * message.height > this.#config.maxStreamPixels) {
          throw new FarplayError(
            'EDGE_BAD_MESSAGE',
            `resize above this edge's ${this.#config.maxStreamPixels} pixels`,
          );
        }
        await this.#media?.resize(message.width, message.height);
        return;
      case 'stamps':
        this.#stamps = message.on;
        if (this.#media) this.#media.stamps = message.on;
        return;
      case 'end':
        this.close('ended by player', SignalCloseCodes.ENDED);
        return;
    }
  }

  #fail(failure: SessionFailure): void {
    if (this.#closed) return;
    const { code, message, closeCode } = failure;
    this.#log.warn({ code, closeCode }, message);
    this.#signalling.send({ type: 'error', code, message: message || ErrorCodes[code].message });
    this.close(message, closeCode);
  }

  async #closeGame(): Promise<void> {
    try {
      await this.#game?.close();
    } catch (error) {
      this.#log.warn({ err: error }, 'game close failed');
    }
  }

  /**
   * Ends the session: tells the player (`ended`, then the close code), stops the media, closes the input
   * channel, the game and the peer. Idempotent.
   */
  close(reason = 'ended', code: number = SignalCloseCodes.ENDED): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = 'closed';
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
    this.#connectTimer = undefined;
    this.#disconnectTimer = undefined;
    this.#media?.close();
    this.#signalling.send({ type: 'ended', reason });
    this.#signalling.close(code, reason);
    this.#input?.close();
    void this.#closeGame();
    const peer = this.#peer;
    this.#peer = undefined;
    if (peer) peer.close().catch((error: unknown) => this.#log.debug({ err: error }, 'peer close failed'));
    this.#log.info({ reason, code, frames: this.statistics.counters().framesSent }, 'session ended');
    this.emit('ended', reason, code);
  }
}
