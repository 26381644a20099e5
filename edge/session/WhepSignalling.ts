import type { RTCPeerConnection } from 'werift';
import { FarplayError } from '../../protocol/errors.js';
import type { EdgeMessage } from '../../protocol/signaling.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { acceptBundleOnly } from './acceptBundleOnly.js';
import { dropAmbiguousExtmaps } from './dropAmbiguousExtmaps.js';
import { filterSdpCandidates } from './remoteCandidateAllowed.js';
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

  /**
   * `allowPrivateCandidates`: keep the viewer's loopback/private/link-local candidates
   * (remoteCandidateAllowed.ts). Bundle-only sections (max-bundle offers) join the BUNDLE group; an
   * extension id the offer gives to two URIs in the group is not answered (dropAmbiguousExtmaps.ts).
   */
  constructor(offerSdp: string, allowPrivateCandidates: boolean) {
    super();
    this.#offerSdp = dropAmbiguousExtmaps(
      acceptBundleOnly(filterSdpCandidates(offerSdp, allowPrivateCandidates)),
    );
  }

  /**
   * Checks the offer before anything is opened for it (game, encoders, peer): SDP with ICE credentials, a
   * DTLS fingerprint and a video section that offers H.264. Throws FarplayError `EDGE_BAD_SDP`.
   */
  validate(): void {
    const offer = this.#offerSdp;
    if (!offer.startsWith('v=0') || !/\r?\nm=video /.test(offer)) {
      throw new FarplayError('EDGE_BAD_SDP', 'the WHEP offer has no video section');
    }
    const missing = [
      [/\r?\na=ice-ufrag:\S+/, 'a=ice-ufrag'],
      [/\r?\na=ice-pwd:\S+/, 'a=ice-pwd'],
      [/\r?\na=fingerprint:\S+ [0-9A-Fa-f:]+/, 'a=fingerprint'],
      [/\r?\na=rtpmap:\d+ H264\/90000/i, 'an H.264 video codec'],
    ].filter(([pattern]) => !(pattern as RegExp).test(offer));
    if (missing.length > 0) {
      throw new FarplayError(
        'EDGE_BAD_SDP',
        `the WHEP offer lacks ${missing.map(([, what]) => what).join(', ')}`,
      );
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
