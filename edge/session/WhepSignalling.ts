import type { RTCPeerConnection } from 'werift';
import { FarplayError } from '../../protocol/errors.js';
import type { EdgeMessage } from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import type { NegotiatedMedia, SessionSignalling, SessionSignallingEvents } from './SessionSignalling.js';

/** How long the answer waits for ICE gathering to complete (WHEP answers carry every candidate). */
const GATHERING_TIMEOUT_MS = 3000;

/**
 * WHEP signalling (draft-ietf-wish-whep, watch only, no input): the viewer's SDP offer came over HTTP,
 * the answer goes back with all candidates gathered (no trickle). Nothing is sent to the player after.
 */
export class WhepSignalling extends TypedEmitter<SessionSignallingEvents> implements SessionSignalling {
  readonly kind = 'whep';
  readonly #offerSdp: string;

  constructor(offerSdp: string) {
    super();
    this.#offerSdp = offerSdp;
  }

  /** The offer must be SDP with a video section. Throws FarplayError `EDGE_BAD_SDP`. */
  validate(): void {
    const offer = this.#offerSdp;
    if (!offer.startsWith('v=0') || !/\r?\nm=video /.test(offer)) {
      throw new FarplayError('EDGE_BAD_SDP', 'the WHEP offer has no video section');
    }
  }

  async negotiate(peer: RTCPeerConnection): Promise<NegotiatedMedia> {
    try {
      await peer.setRemoteDescription({ type: 'offer', sdp: this.#offerSdp });
    } catch (cause) {
      throw new FarplayError('EDGE_BAD_SDP', 'the SDP offer cannot be used', { cause });
    }
    const transceivers = peer.getTransceivers();
    const video = transceivers.find((t) => t.kind === 'video');
    const audio = transceivers.find((t) => t.kind === 'audio');
    if (!video) throw new FarplayError('EDGE_BAD_SDP', 'the WHEP offer has no video section');
    for (const transceiver of [video, audio]) transceiver?.setDirection('sendonly');
    const answer = await peer.createAnswer();
    await peer.setLocalDescription(answer);
    if (peer.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          subscription.unSubscribe();
          resolve();
        };
        const timer = setTimeout(done, GATHERING_TIMEOUT_MS);
        const subscription = peer.iceGatheringStateChange.subscribe((state) => {
          if (state === 'complete') done();
        });
      });
    }
    return {
      video: video.sender,
      audio: audio?.sender,
      input: undefined,
      answerSdp: peer.localDescription?.sdp ?? answer.sdp,
    };
  }

  /** WHEP has no channel back to the player. */
  send(_message: EdgeMessage): void {}

  close(_code: number, _reason: string): void {}
}
