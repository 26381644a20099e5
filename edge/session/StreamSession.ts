import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  H264Packetizer,
  MediaStream,
  MediaStreamTrack,
  OpusPacketizer,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  type RTCRtpSender,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  useAbsSendTime,
  useSdesMid,
} from 'werift';
import { type ErrorCode, ErrorCodes, FarplayError, findError } from '../../protocol/errors.js';
import { writeFrameStamp } from '../../protocol/frameStamp.js';
import { decodeInput, InputType } from '../../protocol/input.js';
import type { GameInfo } from '../../protocol/playerApi.js';
import {
  type EdgeMessage,
  MAX_SIGNAL_MESSAGE_BYTES,
  type PlayerMessage,
  parsePlayerMessage,
  type SignalCloseCode,
  SignalCloseCodes,
} from '../../protocol/signaling.js';
import type { EdgeConfig } from '../config.js';
import type { GameDefinition, GameRuntime } from '../games/GameRuntime.js';
import { FramePacer, type PacerClock, systemClock } from '../media/FramePacer.js';
import { H264Encoder, VIDEO_CLOCK_RATE } from '../media/H264Encoder.js';
import { OPUS_FRAME_SAMPLES, OpusEncoder } from '../media/OpusEncoder.js';
import { TimingWindow } from '../media/TimingWindow.js';
import { createInputChannel, type InputTransport } from './InputChannel.js';
import { RateLimiter } from './RateLimiter.js';

/** The signalling socket as the session sees it (a `ws` WebSocket fits). */
export interface SignalSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface StreamSessionOptions {
  sessionId: string;
  game: GameDefinition;
  config: Readonly<EdgeConfig>;
  /** The H.264 encoder this edge selected at start-up. */
  encoder: string;
  /** Encoder threads for this session (default config.encoderThreads, or 1 when that is 0 = auto). */
  encoderThreads?: number;
  /** The signalling socket; absent for WHEP sessions (see `startWhep`). */
  socket?: SignalSocket;
  logger: Logger;
  clock?: PacerClock;
  /** Wall clock for frame stamps (default Date.now). */
  wallClock?: () => number;
}

/** Per-session counters and timings (see `StreamSession.stats`). */
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
  keyframes: number;
  bytesSent: number;
  inputMessages: number;
  badInputMessages: number;
  lastInputSeq: number;
  audioPackets: number;
}

export interface StreamSessionEvents {
  ended: [reason: string, code: number];
}

/**
 * Cheap structural check of an SDP answer before werift sees it (werift accepts some garbage and only
 * fails later in ICE): version line, the three m-sections we offered, ICE credentials, a DTLS fingerprint.
 */
function looksLikeAnswerFor(sdp: string): boolean {
  return (
    sdp.startsWith('v=0') &&
    /\r?\nm=video /.test(sdp) &&
    /\r?\nm=audio /.test(sdp) &&
    /\r?\nm=application /.test(sdp) &&
    /\r?\na=ice-ufrag:\S+/.test(sdp) &&
    /\r?\na=ice-pwd:\S+/.test(sdp) &&
    /\r?\na=fingerprint:\S+ [0-9A-Fa-f:]+/.test(sdp)
  );
}

/** RTP header extension carrying each frame's capture time (NTP UQ32.32) on its first packet. */
export const ABS_CAPTURE_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time';
/**
 * RTP header extension asking the receiver for a playout delay range (min, max; 12 bits each, 10 ms
 * units). Min = max = 0 tells Chromium to render each frame as soon as it is decoded (no jitter buffer
 * target), what cloud gaming wants on a good network.
 */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
const ZERO_PLAYOUT_DELAY = Buffer.from([0, 0, 0]);
/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** Stand-in signalling socket of WHEP sessions: always closed, sends nothing. */
const NO_SOCKET: SignalSocket = { readyState: 3, send: () => {}, close: () => {}, on: () => undefined };

/** ws readyState OPEN. */
const WS_OPEN = 1;
const MAX_BAD_INPUT_MESSAGES = 8;

/**
 * One player's stream: its game, H.264 and Opus encoders, werift peer connection, input channel and
 * signalling socket. Frames leave on a drift-free clock; a frame slot that finds the previous frame
 * still in the encoder is dropped (counted), never queued. Everything the session owns is released by
 * the idempotent `close()`, which every failure path ends in.
 */
export class StreamSession extends EventEmitter<StreamSessionEvents> {
  readonly sessionId: string;
  readonly gameInfo: GameInfo;
  readonly #config: Readonly<EdgeConfig>;
  readonly #socket: SignalSocket;
  readonly #log: Logger;
  readonly #clock: PacerClock;
  readonly #wallClock: () => number;
  readonly #definition: GameDefinition;
  readonly #encoderName: string;
  readonly #encoderThreads: number;
  #state: StreamSessionStats['state'] = 'starting';
  #width: number;
  #height: number;
  #fps: number;
  #game: GameRuntime | undefined;
  #video: H264Encoder | undefined;
  #audio: OpusEncoder | undefined;
  #peer: RTCPeerConnection | undefined;
  #videoSender: RTCRtpSender | undefined;
  #audioSender: RTCRtpSender | undefined;
  #input: InputTransport | undefined;
  #videoPacer: FramePacer | undefined;
  #audioPacer: FramePacer | undefined;
  readonly #packetizer = new H264Packetizer({ maxPayloadSize: 1200, inputFormat: 'annexb' });
  readonly #opusPacketizer = new OpusPacketizer();
  #connectTimer: NodeJS.Timeout | undefined;
  #disconnectTimer: NodeJS.Timeout | undefined;
  #keyframeRequested = true;
  /** Negotiated RTP header extension ids (set when streaming starts; undefined = not accepted). */
  #captureExtensionId: number | undefined;
  #playoutExtensionId: number | undefined;
  #resizing = false;
  #frameNumber = 0;
  #audioSamples = 0;
  readonly #rtpBase = Math.floor(Math.random() * 0x7fffffff);
  readonly #signalLimiter: RateLimiter;
  readonly #inputLimiter: RateLimiter;
  readonly #pongBuffer = Buffer.alloc(13);
  readonly #stats: StreamSessionStats;
  /** Frame ready to draw → last RTP packet of the frame handed to the socket, ms. */
  readonly edgeTimes = new TimingWindow();
  /** Time in the encoder per frame, ms. */
  readonly encodeTimes = new TimingWindow();
  #closed = false;
  readonly #pendingRemoteCandidates: Array<{ candidate: string; sdpMid?: string; sdpMLineIndex?: number }> =
    [];
  #remoteDescriptionSet = false;

  constructor(options: StreamSessionOptions) {
    super();
    this.sessionId = options.sessionId;
    this.#definition = options.game;
    this.gameInfo = options.game.info;
    this.#config = options.config;
    this.#socket = options.socket ?? NO_SOCKET;
    this.#log = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#encoderName = options.encoder;
    this.#encoderThreads = options.encoderThreads ?? (options.config.encoderThreads || 1);
    this.#width = options.game.info.width;
    this.#height = options.game.info.height;
    this.#fps = options.game.info.fps;
    this.#signalLimiter = new RateLimiter(options.config.maxSignalMessagesPerSecond);
    this.#inputLimiter = new RateLimiter(options.config.maxInputMessagesPerSecond);
    this.#stats = {
      sessionId: this.sessionId,
      gameId: this.gameInfo.id,
      state: 'starting',
      width: this.#width,
      height: this.#height,
      fps: this.#fps,
      encoder: this.#encoderName,
      bitrateKbps: options.config.videoBitrateKbps,
      framesSent: 0,
      framesDroppedBusy: 0,
      framesDroppedLate: 0,
      keyframes: 0,
      bytesSent: 0,
      inputMessages: 0,
      badInputMessages: 0,
      lastInputSeq: 0,
      audioPackets: 0,
    };
    this.#socket.on('message', (data, isBinary) => this.#onSignal(data, isBinary));
    this.#socket.on('close', () => this.close('signalling socket closed', SignalCloseCodes.ENDED));
    this.#socket.on('error', (error) => this.#log.debug({ err: error }, 'signalling socket error'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get state(): StreamSessionStats['state'] {
    return this.#state;
  }

  /** Counters and current settings. */
  stats(): StreamSessionStats {
    const video = this.#videoPacer?.stats;
    return {
      ...this.#stats,
      state: this.#state,
      width: this.#width,
      height: this.#height,
      bitrateKbps: this.#video?.bitrateKbps ?? this.#stats.bitrateKbps,
      framesDroppedBusy: video?.droppedBusy ?? 0,
      framesDroppedLate: video?.droppedLate ?? 0,
    };
  }

  /** Opens the encoders and the peer, sends `session` and the offer. Failures end the session. */
  async start(): Promise<void> {
    try {
      this.#connectTimer = setTimeout(
        () => this.#fail('EDGE_PEER_FAILED', 'peer did not connect in time', SignalCloseCodes.PEER_FAILED),
        this.#config.connectTimeoutSeconds * 1000,
      );
      await this.#openMedia();
      if (this.#closed) return;
      await this.#openPeer();
    } catch (error) {
      const known = findError(error);
      this.#log.error({ err: error }, 'session failed to start');
      this.#fail(
        known?.code ?? 'INTERNAL',
        known?.message ?? 'session failed to start',
        SignalCloseCodes.INTERNAL,
      );
    }
  }

  async #openMedia(): Promise<void> {
    this.#video = await H264Encoder.open({
      codec: this.#encoderName,
      width: this.#width,
      height: this.#height,
      fps: this.#fps,
      bitrateKbps: this.#config.videoBitrateKbps,
      threads: this.#encoderThreads,
    });
    if (this.#closed) return this.#video.close();
    this.#audio = await OpusEncoder.open(this.#config.audioBitrateKbps);
    if (this.#closed) return this.#audio.close();
    this.#game = this.#definition.create({
      width: this.#width,
      height: this.#height,
      nowMs: this.#clock.now(),
      wallClock: this.#wallClock,
    });
  }

  /**
   * WHEP path (watch only, no input): takes the viewer's SDP offer, answers with all candidates gathered
   * (no trickle). Throws FarplayError `EDGE_BAD_SDP` (the session is then closed).
   */
  async startWhep(offerSdp: string): Promise<string> {
    try {
      this.#connectTimer = setTimeout(
        () => this.#fail('EDGE_PEER_FAILED', 'peer did not connect in time', SignalCloseCodes.PEER_FAILED),
        this.#config.connectTimeoutSeconds * 1000,
      );
      if (!offerSdp.startsWith('v=0') || !/\r?\nm=video /.test(offerSdp)) {
        throw new FarplayError('EDGE_BAD_SDP', 'the WHEP offer has no video section');
      }
      await this.#openMedia();
      // Closed while the encoders opened: a peer made now would never be closed.
      if (this.#closed) throw new FarplayError('EDGE_PEER_FAILED', 'session closed while answering');
      const peer = this.#createPeer();
      try {
        await peer.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      } catch (cause) {
        throw new FarplayError('EDGE_BAD_SDP', 'the SDP offer cannot be used', { cause });
      }
      const transceivers = peer.getTransceivers();
      const video = transceivers.find((t) => t.kind === 'video');
      const audio = transceivers.find((t) => t.kind === 'audio');
      if (!video) throw new FarplayError('EDGE_BAD_SDP', 'the WHEP offer has no video section');
      for (const transceiver of [video, audio]) transceiver?.setDirection('sendonly');
      this.#useSenders(video.sender, audio?.sender);
      const answer = await peer.createAnswer();
      await peer.setLocalDescription(answer);
      if (peer.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            subscription.unSubscribe();
            resolve();
          };
          const timer = setTimeout(done, 3000);
          const subscription = peer.iceGatheringStateChange.subscribe((state) => {
            if (state === 'complete') done();
          });
        });
      }
      if (this.#closed) throw new FarplayError('EDGE_PEER_FAILED', 'session closed while answering');
      this.#state = 'connecting';
      return peer.localDescription?.sdp ?? answer.sdp;
    } catch (error) {
      const known =
        findError(error) ?? new FarplayError('EDGE_BAD_SDP', 'WHEP offer failed', { cause: error });
      this.#fail(known.code, known.message, SignalCloseCodes.BAD_MESSAGE);
      throw known;
    }
  }

  #createPeer(): RTCPeerConnection {
    const config = this.#config;
    const allowed = config.iceAllowedAddresses;
    const peer = new RTCPeerConnection({
      iceServers: config.iceServers.map((server) => ({ ...server })),
      iceAdditionalHostAddresses: [...config.iceAdditionalHostAddresses],
      ...(allowed ? { iceFilterCandidatePair: (pair) => allowed.includes(pair.localCandidate.host) } : {}),
      bundlePolicy: 'max-bundle',
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/H264',
            clockRate: VIDEO_CLOCK_RATE,
            rtcpFeedback: [
              { type: 'nack' },
              { type: 'nack', parameter: 'pli' },
              { type: 'ccm', parameter: 'fir' },
              { type: 'goog-remb' },
            ],
            parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
          }),
        ],
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
      },
      headerExtensions: {
        video: [
          useSdesMid(),
          useAbsSendTime(),
          new RTCRtpHeaderExtensionParameters({ uri: ABS_CAPTURE_TIME_URI }),
          ...(config.zeroPlayoutDelay
            ? [new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI })]
            : []),
        ],
        audio: [useSdesMid(), useAbsSendTime()],
      },
    });
    this.#peer = peer;
    peer.connectionStateChange.subscribe((state) => this.#onConnectionState(state));
    return peer;
  }

  #useSenders(video: RTCRtpSender, audio: RTCRtpSender | undefined): void {
    this.#videoSender = video;
    this.#audioSender = audio;
    video.onPictureLossIndication.subscribe(() => {
      this.#keyframeRequested = true;
    });
    video.onRtcp.subscribe((packet: RtcpPacket) => {
      // FIR (RFC 5104, PSFB FMT 4): werift passes it on without acting on it.
      if (packet.type === RtcpPayloadSpecificFeedback.type) {
        const feedback = (packet as RtcpPayloadSpecificFeedback).feedback as { count?: number } | undefined;
        if (feedback?.count === 4) this.#keyframeRequested = true;
      }
    });
  }

  /** Signalling path: the edge offers video, audio and the input channel. */
  async #openPeer(): Promise<void> {
    const peer = this.#createPeer();
    // Video and audio in separate streams: browsers lip-sync tracks of one stream, which would hold the
    // video back to the audio jitter buffer. A game stream wants each shown as soon as it can be.
    const videoTrack = new MediaStreamTrack({ kind: 'video' });
    const audioTrack = new MediaStreamTrack({ kind: 'audio' });
    const video = peer.addTransceiver(videoTrack, {
      direction: 'sendonly',
      streams: [new MediaStream({ id: 'farplay-video', tracks: [videoTrack] })],
    });
    const audio = peer.addTransceiver(audioTrack, {
      direction: 'sendonly',
      streams: [new MediaStream({ id: 'farplay-audio', tracks: [audioTrack] })],
    });
    this.#useSenders(video.sender, audio.sender);
    this.#input = createInputChannel(peer);
    this.#input.onMessage((data) => this.#onInput(data));
    // Candidates gathered while the offer is being made wait until the offer is out: the player can only
    // add candidates after it has the remote description.
    const early: EdgeMessage[] = [];
    let offerSent = false;
    peer.onIceCandidate.subscribe((candidate) => {
      const message: EdgeMessage = candidate
        ? {
            type: 'candidate',
            candidate: candidate.candidate,
            ...(candidate.sdpMid !== undefined ? { sdpMid: candidate.sdpMid } : {}),
            ...(candidate.sdpMLineIndex !== undefined ? { sdpMLineIndex: candidate.sdpMLineIndex } : {}),
          }
        : { type: 'candidate', candidate: null };
      if (offerSent) this.#send(message);
      else early.push(message);
    });
    const offer = await peer.createOffer();
    await peer.setLocalDescription(offer);
    if (this.#closed) return;
    this.#state = 'connecting';
    this.#send({
      type: 'session',
      sessionId: this.sessionId,
      gameId: this.gameInfo.id,
      width: this.#width,
      height: this.#height,
      fps: this.#fps,
      encoder: this.#encoderName,
    });
    this.#send({ type: 'offer', sdp: peer.localDescription?.sdp ?? offer.sdp });
    offerSent = true;
    for (const message of early.splice(0)) this.#send(message);
  }

  #onConnectionState(state: string): void {
    if (this.#closed) return;
    this.#log.debug({ state }, 'peer connection state');
    if (state === 'connected') {
      if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
      this.#disconnectTimer = undefined;
      if (this.#connectTimer) clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      if (this.#state !== 'streaming') {
        this.#state = 'streaming';
        this.#keyframeRequested = true;
        this.#startPacers();
        this.#log.info('streaming');
      }
    } else if (state === 'disconnected') {
      // Consent lost or the path is gone: give it a moment to come back, then end the session.
      this.#disconnectTimer ??= setTimeout(
        () => this.#fail('EDGE_PEER_FAILED', 'peer disconnected', SignalCloseCodes.PEER_FAILED),
        this.#config.disconnectTimeoutSeconds * 1000,
      );
    } else if (state === 'failed') {
      this.#fail('EDGE_PEER_FAILED', 'ICE/DTLS failed', SignalCloseCodes.PEER_FAILED);
    } else if (state === 'closed') {
      this.close('peer closed', SignalCloseCodes.ENDED);
    }
  }

  #startPacers(): void {
    // Negotiation is over once connected: look the extension ids up once, not per frame.
    if (this.#videoSender) {
      this.#captureExtensionId = StreamSession.#extensionId(this.#videoSender, ABS_CAPTURE_TIME_URI);
      this.#playoutExtensionId = StreamSession.#extensionId(this.#videoSender, PLAYOUT_DELAY_URI);
    }
    this.#videoPacer = new FramePacer({
      fps: this.#fps,
      clock: this.#clock,
      onFrame: () => this.#sendVideoFrame(),
      onError: (error) => this.#onMediaError(error),
    });
    this.#audioPacer = new FramePacer({
      fps: 1000 / 20,
      clock: this.#clock,
      onFrame: () => this.#sendAudioFrame(),
      onError: (error) => this.#onMediaError(error),
    });
    this.#videoPacer.start();
    this.#audioPacer.start();
  }

  #onMediaError(error: unknown): void {
    if (this.#closed) return;
    this.#log.error({ err: error }, 'media path failed');
    this.#fail('EDGE_ENCODER_FAILED', 'the encoder failed', SignalCloseCodes.INTERNAL);
  }

  async #sendVideoFrame(): Promise<void> {
    const encoder = this.#video;
    const game = this.#game;
    const sender = this.#videoSender;
    if (!encoder || !game || !sender || this.#closed || this.#resizing) return;
    const started = this.#clock.now();
    const captureTimeMs = this.#wallClock();
    const planes = encoder.planes;
    game.renderFrame(planes, started);
    const frame = this.#frameNumber++;
    writeFrameStamp(planes, { frame, captureTimeMs, inputSeq: this.#stats.lastInputSeq });
    const keyframe = this.#keyframeRequested;
    this.#keyframeRequested = false;
    const rtpTimestamp = (this.#rtpBase + Math.round(started * (VIDEO_CLOCK_RATE / 1000))) >>> 0;
    const encodeStart = this.#clock.now();
    const unit = await encoder.encode(rtpTimestamp, keyframe);
    this.encodeTimes.record(this.#clock.now() - encodeStart);
    if (!unit || this.#closed) return;
    const packets = this.#packetizer.packetize(unit, rtpTimestamp);
    const captureExtension = this.#captureExtensionId;
    const playoutExtension = this.#playoutExtensionId;
    const first = packets[0];
    if (playoutExtension !== undefined && first) {
      first.header.extensions.push({ id: playoutExtension, payload: ZERO_PLAYOUT_DELAY });
    }
    if (captureExtension !== undefined && first) {
      const payload = Buffer.allocUnsafe(8);
      const seconds = Math.floor(captureTimeMs / 1000);
      payload.writeUInt32BE((seconds + NTP_UNIX_OFFSET_SECONDS) >>> 0, 0);
      payload.writeUInt32BE(Math.floor(((captureTimeMs - seconds * 1000) / 1000) * 0x1_0000_0000) >>> 0, 4);
      first.header.extensions.push({ id: captureExtension, payload });
    }
    let last: Promise<void> | undefined;
    for (const packet of packets) last = sender.sendRtp(packet);
    await last;
    this.edgeTimes.record(this.#clock.now() - started);
    this.#stats.framesSent++;
    this.#stats.bytesSent += unit.length;
    if (keyframe) this.#stats.keyframes++;
  }

  /** Negotiated id of the header extension `uri`, or undefined when the player did not accept it. */
  static #extensionId(sender: RTCRtpSender, uri: string): number | undefined {
    // werift keeps the negotiated extension list private; read it without widening its types.
    const negotiated = (sender as unknown as { headerExtensions?: Array<{ id: number; uri: string }> })
      .headerExtensions;
    return negotiated?.find((e) => e.uri === uri)?.id;
  }

  async #sendAudioFrame(): Promise<void> {
    const encoder = this.#audio;
    const game = this.#game;
    const sender = this.#audioSender;
    if (!encoder || !game || !sender || this.#closed) return;
    game.mixAudio(encoder.pcm);
    const pts = this.#audioSamples;
    this.#audioSamples += OPUS_FRAME_SAMPLES;
    const packet = await encoder.encode(pts);
    if (!packet || this.#closed) return;
    const rtpTimestamp = (this.#rtpBase + pts) >>> 0;
    for (const rtp of this.#opusPacketizer.packetize(packet, rtpTimestamp)) await sender.sendRtp(rtp);
    this.#stats.audioPackets++;
  }

  #onInput(data: Buffer | string): void {
    if (this.#closed) return;
    if (!this.#inputLimiter.take()) {
      this.#fail('EDGE_FLOOD', 'too many input messages', SignalCloseCodes.FLOOD);
      return;
    }
    this.#stats.inputMessages++;
    if (typeof data === 'string') {
      this.#badInput(new FarplayError('EDGE_BAD_INPUT', 'text on the input channel'));
      return;
    }
    // Ping: echo as pong at once, same seq and t, before anything else touches the event loop.
    if (data.length === 13 && data[0] === InputType.ping) {
      data.copy(this.#pongBuffer);
      this.#pongBuffer[0] = InputType.pong;
      this.#input?.send(this.#pongBuffer);
      return;
    }
    let message: ReturnType<typeof decodeInput>;
    try {
      message = decodeInput(data);
    } catch (error) {
      this.#badInput(error);
      return;
    }
    if (message.type === 'ping' || message.type === 'pong') return;
    try {
      this.#game?.input(message);
    } catch (error) {
      this.#log.warn({ err: error }, 'game rejected an input message');
    }
    this.#stats.lastInputSeq = message.seq;
  }

  #badInput(error: unknown): void {
    this.#stats.badInputMessages++;
    if (this.#stats.badInputMessages > MAX_BAD_INPUT_MESSAGES) {
      const message = findError(error)?.message ?? 'malformed input messages';
      this.#fail('EDGE_BAD_INPUT', message, SignalCloseCodes.BAD_MESSAGE);
    }
  }

  #onSignal(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.#closed) return;
    const size = Array.isArray(data)
      ? data.reduce((sum, part) => sum + part.length, 0)
      : data instanceof ArrayBuffer
        ? data.byteLength
        : data.length;
    if (size > MAX_SIGNAL_MESSAGE_BYTES) {
      this.#fail(
        'EDGE_MESSAGE_TOO_LARGE',
        'signalling message larger than 64 KiB',
        SignalCloseCodes.TOO_LARGE,
      );
      return;
    }
    if (!this.#signalLimiter.take()) {
      this.#fail('EDGE_FLOOD', 'too many signalling messages', SignalCloseCodes.FLOOD);
      return;
    }
    const text = isBinary
      ? undefined
      : Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as Buffer).toString('utf8');
    const message = text === undefined ? undefined : parsePlayerMessage(text);
    if (!message) {
      this.#fail(
        'EDGE_BAD_MESSAGE',
        'signalling message is not valid JSON of a known type',
        SignalCloseCodes.BAD_MESSAGE,
      );
      return;
    }
    this.#handle(message).catch((error: unknown) => {
      const known = findError(error);
      this.#log.warn({ err: error }, 'signalling message failed');
      this.#fail(
        known?.code ?? 'EDGE_BAD_MESSAGE',
        known?.message ?? 'signalling failed',
        SignalCloseCodes.BAD_MESSAGE,
      );
    });
  }

  async #handle(message: PlayerMessage): Promise<void> {
    switch (message.type) {
      case 'answer': {
        const peer = this.#peer;
        if (!peer || this.#remoteDescriptionSet || peer.signalingState !== 'have-local-offer') {
          throw new FarplayError('EDGE_BAD_SDP', 'no offer is waiting for an answer');
        }
        if (!looksLikeAnswerFor(message.sdp))
          throw new FarplayError('EDGE_BAD_SDP', 'the SDP answer is malformed');
        try {
          await peer.setRemoteDescription({ type: 'answer', sdp: message.sdp });
        } catch (cause) {
          throw new FarplayError('EDGE_BAD_SDP', 'the SDP answer cannot be used', { cause });
        }
        this.#remoteDescriptionSet = true;
        for (const candidate of this.#pendingRemoteCandidates.splice(0)) await this.#addCandidate(candidate);
        return;
      }
      case 'candidate': {
        if (message.candidate === null || message.candidate === '') return;
        const candidate = {
          candidate: message.candidate,
          ...(typeof message.sdpMid === 'string' ? { sdpMid: message.sdpMid } : {}),
          ...(typeof message.sdpMLineIndex === 'number' ? { sdpMLineIndex: message.sdpMLineIndex } : {}),
        };
        if (!this.#remoteDescriptionSet) {
          if (this.#pendingRemoteCandidates.length < 64) this.#pendingRemoteCandidates.push(candidate);
          return;
        }
        await this.#addCandidate(candidate);
        return;
      }
      case 'keyframe':
        this.#keyframeRequested = true;
        return;
      case 'bitrate': {
        const kbps = Math.min(
          this.#config.maxVideoBitrateKbps,
          Math.max(this.#config.minVideoBitrateKbps, message.kbps),
        );
        this.#video?.setBitrate(kbps);
        this.#stats.bitrateKbps = kbps;
        return;
      }
      case 'resize':
        await this.#resize(message.width, message.height);
        return;
      case 'ping':
        this.#send({ type: 'pong', t: message.t });
        return;
      case 'end':
        this.close('ended by player', SignalCloseCodes.ENDED);
        return;
    }
  }

  async #addCandidate(candidate: {
    candidate: string;
    sdpMid?: string;
    sdpMLineIndex?: number;
  }): Promise<void> {
    try {
      await this.#peer?.addIceCandidate(candidate);
    } catch (error) {
      // One unusable candidate is not fatal; ICE goes on with the others.
      this.#log.debug({ err: error }, 'remote candidate rejected');
    }
  }

  async #resize(width: number, height: number): Promise<void> {
    if (width * height > this.#config.maxStreamPixels) {
      throw new FarplayError(
        'EDGE_BAD_MESSAGE',
        `resize above this edge's ${this.#config.maxStreamPixels} pixels`,
      );
    }
    if (this.#resizing || (width === this.#width && height === this.#height) || !this.#video) return;
    this.#resizing = true;
    try {
      const next = await H264Encoder.open({
        codec: this.#encoderName,
        width,
        height,
        fps: this.#fps,
        bitrateKbps: this.#video.bitrateKbps,
        threads: this.#encoderThreads,
      });
      if (this.#closed) return next.close();
      this.#video.close();
      this.#video = next;
      this.#width = width;
      this.#height = height;
      this.#game?.resize(width, height);
      this.#keyframeRequested = true;
    } finally {
      this.#resizing = false;
    }
  }

  #send(message: EdgeMessage): void {
    if (this.#socket.readyState !== WS_OPEN) return;
    try {
      this.#socket.send(JSON.stringify(message));
    } catch (error) {
      this.#log.debug({ err: error }, 'signalling send failed');
    }
  }

  #fail(code: ErrorCode | 'INTERNAL', message: string, closeCode: SignalCloseCode): void {
    if (this.#closed) return;
    this.#log.warn({ code, closeCode }, message);
    this.#send({ type: 'error', code, message: message || ErrorCodes[code].message });
    this.close(message, closeCode);
  }

  /**
   * Ends the session: tells the player (`ended`, then the close code), stops the clocks, closes the
   * encoders, the game and the peer. Idempotent.
   */
  close(reason = 'ended', code: number = SignalCloseCodes.ENDED): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = 'closed';
    if (this.#connectTimer) clearTimeout(this.#connectTimer);
    if (this.#disconnectTimer) clearTimeout(this.#disconnectTimer);
    this.#connectTimer = undefined;
    this.#disconnectTimer = undefined;
    this.#videoPacer?.stop();
    this.#audioPacer?.stop();
    this.#send({ type: 'ended', reason });
    try {
      if (this.#socket.readyState === WS_OPEN || this.#socket.readyState === 0) {
        this.#socket.close(code, reason.slice(0, 120));
      }
    } catch {
      // socket already gone
    }
    this.#input?.close();
    this.#video?.close();
    this.#audio?.close();
    try {
      this.#game?.close();
    } catch (error) {
      this.#log.warn({ err: error }, 'game close failed');
    }
    const peer = this.#peer;
    this.#peer = undefined;
    if (peer) {
      peer.close().catch((error: unknown) => this.#log.debug({ err: error }, 'peer close failed'));
    }
    this.#log.info({ reason, code, frames: this.#stats.framesSent }, 'session ended');
    // close() runs from timers, socket events and the media loop: a throwing listener must not escape.
    try {
      this.emit('ended', reason, code);
    } catch (error) {
      this.#log.error({ err: error }, 'session ended listener threw');
    }
  }
}
