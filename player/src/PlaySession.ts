import { type ErrorCode, ErrorCodes } from '../../protocol/errors.js';
import { encodeInput, INPUT_CHANNEL, type InputMessage, InputType } from '../../protocol/input.js';
import {
  type EdgeMessage,
  type PlayerMessage,
  parseEdgeMessage,
  type QualityMessage,
  type SessionMessage,
  SignalCloseCodes,
} from '../../protocol/signaling.js';
import { negotiateDependencyDescriptor } from './negotiateDependencyDescriptor.js';

/** Where a play session is: connecting → playing → (dropped | ended). */
export type PlaySessionState = 'connecting' | 'playing' | 'dropped' | 'ended';

/** Why a session dropped or ended, for the message the player sees. */
export interface PlaySessionReason {
  /**
   * The code from the catalogue (protocol/errors.ts) that the edge sent or its close code stands for;
   * none for a normal end, an edge shutting down or a plain loss of the network.
   */
  code?: ErrorCode;
  message: string;
  /** True when trying again may help (network loss); false when the edge refused or ended it. */
  retryable: boolean;
}

/** An input message without its sequence number (the session assigns it). */
export type OutgoingInput = InputMessage extends unknown ? DistributiveOmitSeq<InputMessage> : never;
type DistributiveOmitSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

export interface PlaySessionEvents {
  /** The edge described the session (game, size, fps, encoder). */
  session: SessionMessage;
  /** State changed; `reason` is set for dropped / ended. */
  state: { state: PlaySessionState; reason?: PlaySessionReason };
  /** The remote media stream (video + audio) is ready to attach to a <video>. */
  stream: MediaStream;
  /** One input round trip over the data channel (ms). */
  inputRtt: number;
  /** The edge's bandwidth adaptation report. */
  quality: QualityMessage;
  /** The edge paused the stream (billing: why, with its code), or resumed it (null). */
  paused: PlaySessionReason | null;
}

/** Options of a PlaySession. */
export interface PlaySessionOptions {
  /** Signalling WebSocket URL without the token. */
  signalUrl: string;
  /** Session token (appended as `?token=`). */
  token: string;
  /** ICE servers (default none: host candidates only, which is what loopback and LAN need). */
  iceServers?: RTCIceServer[];
  /** Data-channel ping period for input RTT, ms (default 500; 0: only when the page calls `ping()`). */
  pingIntervalMs?: number;
  /** How long ICE may stay `disconnected` before the session counts as dropped, ms (default 3000). */
  disconnectGraceMs?: number;
}

const CLOSE_REASONS: Record<number, PlaySessionReason> = {
  [SignalCloseCodes.GOING_AWAY]: { message: 'The edge is shutting down.', retryable: true },
  [SignalCloseCodes.BAD_MESSAGE]: {
    code: 'EDGE_BAD_MESSAGE',
    message: 'The edge refused a signalling message.',
    retryable: true,
  },
  [SignalCloseCodes.BAD_TOKEN]: {
    code: 'EDGE_BAD_TOKEN',
    message: 'The edge refused the session token.',
    retryable: true,
  },
  [SignalCloseCodes.UNKNOWN_GAME]: {
    code: 'EDGE_UNKNOWN_GAME',
    message: 'The edge does not have this game.',
    retryable: true,
  },
  [SignalCloseCodes.SESSION_IN_USE]: {
    code: 'EDGE_SESSION_IN_USE',
    message: 'This session is already playing elsewhere.',
    retryable: false,
  },
  [SignalCloseCodes.EDGE_FULL]: { code: 'EDGE_FULL', message: 'The edge has no free slot.', retryable: true },
  [SignalCloseCodes.TOKEN_USED]: {
    code: 'EDGE_TOKEN_USED',
    message: 'This session token was used before.',
    retryable: true,
  },
  [SignalCloseCodes.TOO_LARGE]: {
    code: 'EDGE_MESSAGE_TOO_LARGE',
    message: 'A message was too large.',
    retryable: true,
  },
  [SignalCloseCodes.FLOOD]: { code: 'EDGE_FLOOD', message: 'Too many messages were sent.', retryable: true },
  [SignalCloseCodes.PEER_FAILED]: {
    code: 'EDGE_PEER_FAILED',
    message: 'The network connection to the edge failed.',
    retryable: true,
  },
  [SignalCloseCodes.INTERNAL]: {
    code: 'INTERNAL',
    message: 'The edge had an internal error.',
    retryable: true,
  },
};

/** `code` when the catalogue has it (what an edge's `error` message names), else undefined. */
function catalogueCode(code: string | undefined): ErrorCode | undefined {
  return code !== undefined && Object.hasOwn(ErrorCodes, code) ? (code as ErrorCode) : undefined;
}

/**
 * One stream from one edge: the signalling WebSocket, the RTCPeerConnection (receive-only video and
 * audio, answered to the edge's offer) and the negotiated, unordered, unreliable `input` data
 * channel. Low-latency playback: every receiver gets `jitterBufferTarget = 0` (and
 * `playoutDelayHint = 0` where it exists). `close()` is idempotent; `end()` asks the edge to end the
 * session first.
 */
export class PlaySession {
  readonly #options: PlaySessionOptions;
  readonly #ws: WebSocket;
  readonly #pc: RTCPeerConnection;
  readonly #input: RTCDataChannel;
  readonly #listeners = new Map<keyof PlaySessionEvents, Set<(value: never) => void>>();
  readonly #pendingCandidates: RTCIceCandidateInit[] = [];
  readonly #inputBuffer = new Uint8Array(64);
  #state: PlaySessionState = 'connecting';
  #session: SessionMessage | undefined;
  #remoteDescriptionSet = false;
  #seq = 0;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #disconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #stream: MediaStream | undefined;
  #endRequested = false;
  #closed = false;
  #lastError: PlaySessionReason | undefined;
  #endedReason: string | undefined;
  #endedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: PlaySessionOptions) {
    this.#options = options;
    this.#pc = new RTCPeerConnection({ iceServers: options.iceServers ?? [], bundlePolicy: 'max-bundle' });
    this.#input = this.#pc.createDataChannel(INPUT_CHANNEL.label, { ...INPUT_CHANNEL.init });
    this.#input.binaryType = 'arraybuffer';
    this.#input.onmessage = (event) => this.#onInputMessage(event.data);
    this.#input.onopen = () => this.#startPings();
    this.#pc.ontrack = (event) => this.#onTrack(event);
    this.#pc.onicecandidate = (event) => {
      const candidate = event.candidate;
      this.#send(
        candidate === null
          ? { type: 'candidate', candidate: null }
          : {
              type: 'candidate',
              candidate: candidate.candidate,
              sdpMid: candidate.sdpMid,
              sdpMLineIndex: candidate.sdpMLineIndex,
            },
      );
    };
    this.#pc.onconnectionstatechange = () => this.#onConnectionState();

    const url = new URL(options.signalUrl, window.location.href);
    if (url.protocol === 'http:') url.protocol = 'ws:';
    if (url.protocol === 'https:') url.protocol = 'wss:';
    url.searchParams.set('token', options.token);
    this.#ws = new WebSocket(url);
    this.#ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      const message = parseEdgeMessage(event.data);
      if (message !== undefined) this.#onEdgeMessage(message).catch((error) => this.#fail(error));
    };
    this.#ws.onclose = (event) => this.#onSocketClose(event.code, event.reason);
  }

  /** Current state. */
  get state(): PlaySessionState {
    return this.#state;
  }

  /** What the edge said about the session (after the `session` message). */
  get session(): SessionMessage | undefined {
    return this.#session;
  }

  /** The peer connection, for stats. */
  get peerConnection(): RTCPeerConnection {
    return this.#pc;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sequence number of the last input message sent (0 before any). */
  get lastInputSeq(): number {
    return this.#seq;
  }

  /** True when the input channel is open. */
  get inputOpen(): boolean {
    return this.#input.readyState === 'open';
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof PlaySessionEvents>(
    event: K,
    listener: (value: PlaySessionEvents[K]) => void,
  ): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  /**
   * Sends one input message over the data channel and returns its sequence number, or 0 when the
   * channel is not open (input is never queued: a stale key press is worse than a lost one).
   */
  sendInput(message: OutgoingInput): number {
    if (this.#input.readyState !== 'open') return 0;
    this.#seq = (this.#seq + 1) >>> 0;
    const bytes = encodeInput({ ...message, seq: this.#seq } as InputMessage, this.#inputBuffer);
    try {
      this.#input.send(bytes as Uint8Array<ArrayBuffer>);
    } catch {
      return 0;
    }
    return this.#seq;
  }

  /** Sends a signalling control message (keyframe, bitrate, resize, ping). */
  control(message: Exclude<PlayerMessage, { type: 'answer' | 'candidate' | 'end' }>): void {
    this.#send(message);
  }

  /** Ends the session: tells the edge (`end`), then closes everything. */
  end(): void {
    if (this.#closed) return;
    this.#endRequested = true;
    this.#send({ type: 'end' });
    this.#setState('ended', { message: 'You ended the session.', retryable: false });
    this.close();
  }

  /** Closes the socket and the peer connection (idempotent). The edge frees the slot on socket close. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    clearTimeout(this.#disconnectTimer);
    clearTimeout(this.#endedTimer);
    this.#ws.onmessage = null;
    this.#ws.onclose = null;
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(1000, 'player closed');
    }
    this.#input.onmessage = null;
    this.#pc.ontrack = null;
    this.#pc.onicecandidate = null;
    this.#pc.onconnectionstatechange = null;
    this.#pc.close();
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    if (this.#state === 'connecting' || this.#state === 'playing') {
      this.#setState('ended', { message: 'Closed.', retryable: false });
    }
    this.#listeners.clear();
  }

  #emit<K extends keyof PlaySessionEvents>(event: K, value: PlaySessionEvents[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as (value: PlaySessionEvents[K]) => void)(value);
      } catch (error) {
        // A broken listener must not break the stream.
        reportError(error);
      }
    }
  }

  #setState(state: PlaySessionState, reason?: PlaySessionReason): void {
    if (this.#state === state) return;
    if (this.#state === 'ended' || (this.#state === 'dropped' && state !== 'ended')) return;
    this.#state = state;
    this.#emit('state', reason === undefined ? { state } : { state, reason });
  }

  #send(message: PlayerMessage): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  async #onEdgeMessage(message: EdgeMessage): Promise<void> {
    switch (message.type) {
      case 'session':
        this.#session = message;
        this.#emit('session', message);
        return;
      case 'offer': {
        await this.#pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
        this.#remoteDescriptionSet = true;
        this.#tuneReceivers();
        negotiateDependencyDescriptor(this.#pc);
        for (const candidate of this.#pendingCandidates.splice(0)) await this.#addCandidate(candidate);
        const answer = await this.#pc.createAnswer();
        await this.#pc.setLocalDescription(answer);
        this.#send({ type: 'answer', sdp: answer.sdp ?? '' });
        return;
      }
      case 'candidate': {
        const init: RTCIceCandidateInit = { candidate: message.candidate ?? '' };
        if (message.sdpMid !== undefined) init.sdpMid = message.sdpMid;
        if (message.sdpMLineIndex !== undefined) init.sdpMLineIndex = message.sdpMLineIndex;
        if (this.#remoteDescriptionSet) await this.#addCandidate(init);
        else this.#pendingCandidates.push(init);
        return;
      }
      case 'pong':
        return;
      case 'quality':
        this.#emit('quality', message);
        return;
      case 'paused': {
        const code = catalogueCode(message.code);
        this.#emit('paused', { message: message.message, retryable: true, ...(code ? { code } : {}) });
        return;
      }
      case 'resumed':
        this.#emit('paused', null);
        return;
      case 'error': {
        this.#lastError = { message: message.message, retryable: true };
        const code = catalogueCode(message.code);
        if (code !== undefined) this.#lastError.code = code;
        return;
      }
      case 'ended':
        // The close code that follows says whether this is a real end (1000) or e.g. an edge shutdown
        // (1001) worth reconnecting from; if no close follows, it is an end.
        this.#endedReason = message.reason;
        this.#endedTimer ??= setTimeout(() => {
          this.#setState('ended', {
            message: `Session ended: ${message.reason}`,
            retryable: false,
          });
          this.close();
        }, 2000);
        return;
    }
  }

  async #addCandidate(init: RTCIceCandidateInit): Promise<void> {
    try {
      await this.#pc.addIceCandidate(init);
    } catch {
      // A candidate we cannot use (e.g. another address family) is not fatal.
    }
  }

  /** Asks for the lowest playout delay on every receiver. */
  #tuneReceivers(): void {
    for (const receiver of this.#pc.getReceivers()) {
      const tunable = receiver as RTCRtpReceiver & {
        jitterBufferTarget?: number | null;
        playoutDelayHint?: number;
      };
      try {
        tunable.jitterBufferTarget = 0;
      } catch {
        // older browsers: no jitterBufferTarget
      }
      if ('playoutDelayHint' in tunable) tunable.playoutDelayHint = 0;
    }
  }

  #onTrack(event: RTCTrackEvent): void {
    this.#tuneReceivers();
    if (this.#stream === undefined) this.#stream = event.streams[0] ?? new MediaStream();
    if (!this.#stream.getTracks().includes(event.track)) this.#stream.addTrack(event.track);
    this.#emit('stream', this.#stream);
  }

  #onConnectionState(): void {
    const state = this.#pc.connectionState;
    if (state === 'connected') {
      clearTimeout(this.#disconnectTimer);
      this.#disconnectTimer = undefined;
      this.#setState('playing');
    } else if (state === 'failed') {
      this.#drop({
        code: 'EDGE_PEER_FAILED',
        message: 'The network connection to the edge failed.',
        retryable: true,
      });
    } else if (state === 'disconnected' && this.#disconnectTimer === undefined) {
      this.#disconnectTimer = setTimeout(() => {
        this.#disconnectTimer = undefined;
        if (this.#pc.connectionState !== 'connected') {
          this.#drop({ message: 'The stream stopped: network lost.', retryable: true });
        }
      }, this.#options.disconnectGraceMs ?? 3000);
    }
  }

  #onSocketClose(code: number, reason: string): void {
    if (this.#closed) return;
    if (code === SignalCloseCodes.ENDED && (this.#endRequested || this.#state === 'ended')) {
      this.#setState('ended', { message: 'Session ended.', retryable: false });
      this.close();
      return;
    }
    if (code === SignalCloseCodes.ENDED) {
      const why = this.#endedReason ?? reason;
      this.#setState('ended', {
        message: why === '' ? 'The edge ended the session.' : `Session ended: ${why}`,
        retryable: false,
      });
      this.close();
      return;
    }
    const known = CLOSE_REASONS[code];
    const base: PlaySessionReason = known
      ? { ...known }
      : { message: `The connection to the edge closed (code ${code}).`, retryable: true };
    if (base.code === undefined && this.#lastError?.code !== undefined) base.code = this.#lastError.code;
    const detail = this.#lastError?.message ?? this.#endedReason ?? reason;
    this.#drop(detail === '' ? base : { ...base, message: `${base.message} (${detail})` });
  }

  #drop(reason: PlaySessionReason): void {
    if (this.#closed) return;
    this.#setState('dropped', reason);
    this.close();
  }

  #fail(error: unknown): void {
    this.#drop({
      code: 'EDGE_BAD_SDP',
      message: `Could not set up the stream: ${String(error)}`,
      retryable: true,
    });
  }

  /** Sends one input-RTT ping now (the pong comes back as an `inputRtt` event). */
  ping(): void {
    this.sendInput({ type: 'ping', t: performance.now() });
  }

  #startPings(): void {
    const period = this.#options.pingIntervalMs ?? 500;
    if (period <= 0 || this.#pingTimer !== undefined) return;
    this.ping();
    this.#pingTimer = setInterval(() => this.ping(), period);
  }

  #onInputMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer) || data.byteLength !== 13) return;
    const view = new DataView(data);
    if (view.getUint8(0) !== InputType.pong) return;
    const rtt = performance.now() - view.getFloat64(5, true);
    if (rtt >= 0 && rtt < 60_000) this.#emit('inputRtt', rtt);
  }
}
