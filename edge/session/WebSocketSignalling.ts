import type { Logger } from 'pino';
import { MediaStream, MediaStreamTrack, type RTCPeerConnection } from 'werift';
import { FarplayError, findError } from '../../protocol/errors.js';
import { type EdgeMessage, type PlayerMessage, SignalCloseCodes } from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { offerReceiverRtt } from '../media/ReceiverRttResponder.js';
import { createInputChannel } from './InputChannel.js';
import { filterSdpCandidates, remoteCandidateAllowed } from './remoteCandidateAllowed.js';
import type {
  NegotiatedMedia,
  SessionAnnouncement,
  SessionSignalling,
  SessionSignallingEvents,
} from './SessionSignalling.js';
import type { SignalChannel } from './SignalChannel.js';

/** A remote ICE candidate as the player sent it. */
interface RemoteCandidate {
  candidate: string;
  sdpMid?: string;
  sdpMLineIndex?: number;
}

/** Remote candidates kept until the answer arrives; more are dropped. */
const MAX_PENDING_CANDIDATES = 64;

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

/**
 * WebSocket signalling: the edge offers video, audio and the input channel, candidates trickle both
 * ways (the player's wait until its answer is in), and the player's control messages reach the session.
 */
export class WebSocketSignalling extends TypedEmitter<SessionSignallingEvents> implements SessionSignalling {
  readonly kind = 'websocket';
  readonly #channel: SignalChannel;
  readonly #log: Logger;
  readonly #pendingCandidates: RemoteCandidate[] = [];
  readonly #allowPrivateCandidates: boolean;
  #peer: RTCPeerConnection | undefined;
  #remoteDescriptionSet = false;

  /** `allowPrivateCandidates`: accept the player's loopback/private/link-local candidates (remoteCandidateAllowed.ts). */
  constructor(channel: SignalChannel, logger: Logger, allowPrivateCandidates: boolean) {
    super({
      onListenerError: (error, event) => logger.error({ err: error, event }, 'signalling listener threw'),
    });
    this.#channel = channel;
    this.#log = logger;
    this.#allowPrivateCandidates = allowPrivateCandidates;
    channel.on('message', (message) => this.#onMessage(message));
    channel.on('violation', (failure) => this.emit('failed', failure));
    channel.on('closed', () => this.emit('closed'));
  }

  /** Nothing to check before the offer: the player has sent nothing yet. */
  validate(): void {}

  async negotiate(peer: RTCPeerConnection, announcement: SessionAnnouncement): Promise<NegotiatedMedia> {
    this.#peer = peer;
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
    const input = createInputChannel(peer);
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
      if (offerSent) this.send(message);
      else early.push(message);
    });
    const offer = await peer.createOffer();
    await peer.setLocalDescription(offer);
    const negotiated: NegotiatedMedia = {
      video: video.sender,
      audio: audio.sender,
      input,
      answerSdp: undefined,
    };
    if (this.#channel.closed) return negotiated;
    this.send({ type: 'session', ...announcement });
    // rcvr-rtt: the player measures the RTT its NACK retries wait for (`ReceiverRttResponder`); werift
    // writes no rtcp-xr attribute.
    this.send({ type: 'offer', sdp: offerReceiverRtt(peer.localDescription?.sdp ?? offer.sdp) });
    offerSent = true;
    for (const message of early.splice(0)) this.send(message);
    return negotiated;
  }

  send(message: EdgeMessage): void {
    this.#channel.send(message);
  }

  close(code: number, reason: string): void {
    this.#peer = undefined;
    this.#pendingCandidates.length = 0;
    this.#channel.close(code, reason);
  }

  #onMessage(message: PlayerMessage): void {
    this.#handle(message).catch((error: unknown) => {
      const known = findError(error);
      this.#log.warn({ err: error }, 'signalling message failed');
      this.emit('failed', {
        code: known?.code ?? 'EDGE_BAD_MESSAGE',
        message: known?.message ?? 'signalling failed',
        closeCode: SignalCloseCodes.BAD_MESSAGE,
      });
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
          const sdp = filterSdpCandidates(message.sdp, this.#allowPrivateCandidates);
          await peer.setRemoteDescription({ type: 'answer', sdp });
        } catch (cause) {
          throw new FarplayError('EDGE_BAD_SDP', 'the SDP answer cannot be used', { cause });
        }
        this.#remoteDescriptionSet = true;
        for (const candidate of this.#pendingCandidates.splice(0)) await this.#addCandidate(candidate);
        return;
      }
      case 'candidate': {
        if (message.candidate === null || message.candidate === '') return;
        if (!remoteCandidateAllowed(message.candidate, this.#allowPrivateCandidates)) {
          this.#log.debug('refused a non-public remote candidate');
          return;
        }
        const candidate: RemoteCandidate = {
          candidate: message.candidate,
          ...(typeof message.sdpMid === 'string' ? { sdpMid: message.sdpMid } : {}),
          ...(typeof message.sdpMLineIndex === 'number' ? { sdpMLineIndex: message.sdpMLineIndex } : {}),
        };
        if (!this.#remoteDescriptionSet) {
          if (this.#pendingCandidates.length < MAX_PENDING_CANDIDATES)
            this.#pendingCandidates.push(candidate);
          return;
        }
        await this.#addCandidate(candidate);
        return;
      }
      case 'ping':
        this.send({ type: 'pong', t: message.t });
        return;
      default:
        this.emit('control', message);
    }
  }

  async #addCandidate(candidate: RemoteCandidate): Promise<void> {
    try {
      await this.#peer?.addIceCandidate(candidate);
    } catch (error) {
      // One unusable candidate is not fatal; ICE goes on with the others.
      this.#log.debug({ err: error }, 'remote candidate rejected');
    }
  }
}
