import {
  H264RtpPayload,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RtpPacket,
  useTransportWideCC,
} from 'werift';
import WebSocket from 'ws';
import { HeldKeyHeartbeat } from '../../protocol/HeldKeyHeartbeat.js';
import { encodeInput, INPUT_CHANNEL, type InputMessage } from '../../protocol/input.js';
import { type EdgeMessage, parseEdgeMessage, type SessionMessage } from '../../protocol/signaling.js';
import { TRANSPORT_CC_URI } from '../session/rtpHeaderExtensions.js';
import { type RtcpSink, TransportFeedbackSender } from './TransportFeedbackSender.js';

/** What the feedback needs of werift's receiver (private fields). */
interface FeedbackReceiver {
  dtlsTransport: RtcpSink;
  rtcpSsrc: number;
}

/** Input message without its sequence number (the receiver numbers them). */
export type UnsequencedInput = InputMessage extends infer M
  ? M extends InputMessage
    ? Omit<M, 'seq'>
    : never
  : never;

/** Where to connect and how. */
export interface StreamReceiverOptions {
  /** `ws://.../v1/signal` */
  signalUrl: string;
  token: string;
  /** Use only loopback ICE candidates (default true: the capacity bench stays on 127.0.0.1). */
  loopbackOnly?: boolean;
  /**
   * Accept transport-wide congestion control as browsers do: the header extension, with feedback from
   * TransportFeedbackSender (werift's own receiver writes messages that do not parse). Default false.
   */
  transportCc?: boolean;
  /** Ask the edge for frame stamps from the first frame (`stamps` message; default false). */
  stamps?: boolean;
}

/**
 * A session's receiving end in Node, without a browser: signalling over `ws`, a werift peer that takes the
 * edge's RTP and reassembles complete H.264 access units (counted, not decoded), and the input data channel.
 * The capacity bench (`farplay-edge bench`) counts delivered frames with it; tests extend it with decoding.
 */
export class StreamReceiver {
  readonly socket: WebSocket;
  readonly peer: RTCPeerConnection;
  /** Messages the edge sent, in order. */
  readonly messages: EdgeMessage[] = [];
  /** Complete access units received (marker bit seen, no gap). */
  framesReceived = 0;
  /** Access units thrown away because a packet was missing. */
  framesIncomplete = 0;
  audioPackets = 0;
  rtpPackets = 0;
  /** RTP packets seen twice (the edge's bandwidth probes re-send recent packets), dropped before reassembly. */
  duplicatePackets = 0;
  /** Pongs received on the input channel: seq → round-trip ms. */
  readonly pongs: Array<{ seq: number; rttMs: number }> = [];
  session: SessionMessage | undefined;
  /** Resolves with the signalling socket's close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves when the input channel is open. */
  readonly inputOpen: Promise<void>;
  readonly #channel;
  #seq = 0;
  /** Re-sends keyDown for held keys, as the page does (protocol/input.ts). */
  readonly #stampsWanted: boolean;
  readonly #heartbeat = new HeldKeyHeartbeat((key) => this.#send({ type: 'keyDown', key }));
  #parts: Buffer[] = [];
  #fragment: Buffer | undefined;
  #expectedSeq: number | undefined;
  #broken = false;
  #closing = false;
  #transportCcId: number | undefined;
  #transportFeedback: TransportFeedbackSender | undefined;

  constructor(options: StreamReceiverOptions) {
    this.#stampsWanted = options.stamps ?? false;
    const loopbackOnly = options.loopbackOnly ?? true;
    this.peer = new RTCPeerConnection({
      iceAdditionalHostAddresses: ['127.0.0.1'],
      ...(loopbackOnly ? { iceFilterCandidatePair: (pair) => pair.localCandidate.host === '127.0.0.1' } : {}),
      bundlePolicy: 'max-bundle',
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/H264',
            clockRate: 90_000,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
            parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
          }),
        ],
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
      },
      ...(options.transportCc ? { headerExtensions: { video: [useTransportWideCC()], audio: [] } } : {}),
    });
    this.#channel = this.peer.createDataChannel(INPUT_CHANNEL.label, { ...INPUT_CHANNEL.init });
    this.inputOpen = new Promise((resolve) => {
      if (this.#channel.readyState === 'open') resolve();
      this.#channel.stateChanged.subscribe((state) => {
        if (state === 'open') resolve();
      });
    });
    this.#channel.onMessage.subscribe((data) => {
      if (typeof data === 'string' || data.length !== 13 || data[0] !== 9) return;
      const t = data.readDoubleLE(5);
      this.pongs.push({ seq: data.readUInt32LE(1), rttMs: performance.now() - t });
    });
    this.peer.onTransceiverAdded.subscribe((transceiver) => {
      transceiver.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((rtp) => {
          if (track.kind === 'video') {
            if (options.transportCc) this.#feedback(rtp, transceiver.receiver as unknown as FeedbackReceiver);
            this.#onVideoRtp(rtp);
          } else this.audioPackets++;
        });
      });
    });
    this.peer.onIceCandidate.subscribe((candidate) => {
      this.sendSignal(
        candidate
          ? {
              type: 'candidate',
              candidate: candidate.candidate,
              sdpMid: candidate.sdpMid,
              sdpMLineIndex: candidate.sdpMLineIndex,
            }
          : { type: 'candidate', candidate: null },
      );
    });
    const url = `${options.signalUrl}?token=${encodeURIComponent(options.token)}`;
    this.socket = new WebSocket(url);
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.socket.on('error', () => {});
    this.socket.on('message', (data) => {
      const message = parseEdgeMessage(data.toString());
      if (!message) return;
      this.messages.push(message);
      // An offer this peer cannot take leaves it unconnected: callers see that as a waitFor timeout,
      // not as an unhandled rejection that would end the process.
      this.#onSignal(message).catch(() => {});
    });
  }

  async #onSignal(message: EdgeMessage): Promise<void> {
    if (message.type === 'session') {
      this.session = message;
      if (this.#stampsWanted) this.sendSignal({ type: 'stamps', on: true });
    } else if (message.type === 'offer') {
      await this.peer.setRemoteDescription({ type: 'offer', sdp: message.sdp });
      const answer = await this.peer.createAnswer();
      await this.peer.setLocalDescription(answer);
      this.sendSignal({ type: 'answer', sdp: this.answerSdp(this.peer.localDescription?.sdp ?? answer.sdp) });
    } else if (message.type === 'candidate' && message.candidate) {
      await this.peer
        .addIceCandidate({
          candidate: message.candidate,
          ...(typeof message.sdpMid === 'string' ? { sdpMid: message.sdpMid } : {}),
          ...(typeof message.sdpMLineIndex === 'number' ? { sdpMLineIndex: message.sdpMLineIndex } : {}),
        })
        .catch(() => {});
    }
  }

  /** Reports the packet's transport-wide sequence number and arrival to the edge (transportCc). */
  #feedback(rtp: RtpPacket, receiver: FeedbackReceiver): void {
    if (this.#closing) return;
    if (this.#transportCcId === undefined) {
      const line = this.peer.localDescription?.sdp
        .split(/\r?\n/)
        .find((l) => l.startsWith('a=extmap:') && l.includes(TRANSPORT_CC_URI));
      this.#transportCcId = line ? Number.parseInt(line.slice('a=extmap:'.length), 10) : -1;
    }
    const extension = rtp.header.extensions.find((e) => e.id === this.#transportCcId);
    if (!extension || extension.payload.length < 2) return;
    this.#transportFeedback ??= new TransportFeedbackSender({
      sink: receiver.dtlsTransport,
      senderSsrc: receiver.rtcpSsrc,
    });
    this.#transportFeedback.onPacket(extension.payload.readUInt16BE(0), rtp.header.ssrc, performance.now());
  }

  #onVideoRtp(rtp: RtpPacket): void {
    this.rtpPackets++;
    const seq = rtp.header.sequenceNumber;
    const behind = this.#expectedSeq === undefined ? 0 : (this.#expectedSeq - seq) & 0xffff;
    if (behind > 0 && behind <= 0x4000) {
      this.duplicatePackets++;
      return;
    }
    if (this.#expectedSeq !== undefined && seq !== this.#expectedSeq) this.#broken = true;
    this.#expectedSeq = (seq + 1) & 0xffff;
    try {
      const h264 = H264RtpPayload.deSerialize(rtp.payload, this.#fragment);
      this.#fragment = h264.fragment;
      if (h264.payload) this.#parts.push(h264.payload);
    } catch {
      this.#broken = true;
    }
    if (!rtp.header.marker) return;
    const parts = this.#parts;
    this.#parts = [];
    this.#fragment = undefined;
    if (this.#broken) {
      this.#broken = false;
      this.framesIncomplete++;
      return;
    }
    this.framesReceived++;
    this.onAccessUnit(parts);
  }

  /** The SDP answer as sent; a subclass may rewrite it (tests that name candidates the receiver lacks). */
  protected answerSdp(sdp: string): string {
    return sdp;
  }

  /** Called with every complete access unit's NAL units (Annex B payloads); a subclass may decode them. */
  protected onAccessUnit(_parts: Buffer[]): void {}

  /** Resolves once `predicate` holds (checked every 20 ms) or rejects after `timeoutMs`. */
  async waitFor(predicate: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    const started = Date.now();
    while (!predicate()) {
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends a signalling message (an object is JSON-encoded; a string goes as is). */
  sendSignal(message: object | string): void {
    if (this.socket.readyState !== WebSocket.OPEN) {
      if (this.socket.readyState === WebSocket.CONNECTING) {
        this.socket.once('open', () => this.sendSignal(message));
      }
      return;
    }
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends one input message with the next sequence number; returns that number. Held keys are refreshed like the page does. */
  sendInput(message: UnsequencedInput): number {
    if (message.type === 'keyDown') this.#heartbeat.down(message.key);
    else if (message.type === 'keyUp') this.#heartbeat.up(message.key);
    return this.#send(message);
  }

  /** Stops refreshing a held key as if its keyUp had been sent and lost on the way. */
  loseKeyUp(key: number): void {
    this.#heartbeat.up(key);
    ++this.#seq;
  }

  #send(message: UnsequencedInput): number {
    const seq = ++this.#seq;
    this.sendRaw(Buffer.from(encodeInput({ ...message, seq } as InputMessage)));
    return seq;
  }

  /** Sends `ping{seq, t = performance.now()}` on the input channel (the edge echoes a pong). */
  ping(): number {
    return this.sendInput({ type: 'ping', t: performance.now() });
  }

  /** Sends raw bytes on the input channel. */
  sendRaw(data: Buffer | string): void {
    if (this.#channel.readyState !== 'open') return;
    this.#channel.send(data);
  }

  /** Closes the socket and the peer; idempotent. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#heartbeat.close();
    this.#transportFeedback?.close();
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000);
    }
    await this.peer.close().catch(() => {});
  }
}
