import type { RTCRtpHeaderExtensionParameters, RTCRtpSender } from 'werift';

/** RTP header extension carrying each frame's capture time (NTP UQ32.32) on its first packet. */
export const ABS_CAPTURE_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time';
/**
 * RTP header extension asking the receiver for a playout delay range (min, max; 12 bits each, 10 ms
 * units). Min = max = 0 tells Chromium to render each frame as soon as it is decoded (no jitter buffer
 * target), what cloud gaming wants on a good network.
 */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';

/**
 * Transport-wide sequence numbers (draft-holmer-rmcat-transport-wide-cc-extensions-01): werift stamps
 * them on every packet of a sender that negotiated it; the browser answers with transport-cc feedback.
 */
export const TRANSPORT_CC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';

/**
 * The Dependency Descriptor (AV1 RTP spec appendix A), on every video packet when the player accepts it
 * (`media/dependencyDescriptor.ts`): Chromium then finds H.264 frame references from it, not from
 * sequence numbers. Chromium answers with it only when the page enabled it on the transceiver
 * (`setHeaderExtensionsToNegotiate`, player/src/negotiateDependencyDescriptor.ts).
 */
export const DEPENDENCY_DESCRIPTOR_URI =
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension';

/** Negotiated id of the header extension `uri` on `sender`, or undefined when the player did not accept it. */
export function negotiatedExtensionId(sender: RTCRtpSender, uri: string): number | undefined {
  // werift keeps the negotiated extension list private; read it without widening its types.
  const negotiated = (sender as unknown as { headerExtensions?: Array<{ id: number; uri: string }> })
    .headerExtensions;
  return negotiated?.find((e) => e.uri === uri)?.id;
}

/**
 * Gives each header extension URI one id across audio and video (1, 2, … in order of first use). In a
 * BUNDLE group an id must mean the same URI on every m-section (RFC 8843 §9.2, RFC 8285 §5); werift
 * numbers its configured lists 1 + index over audio then video, so the video's mid and abs-send-time
 * got 3 and 4 against the audio's 1 and 2 — Chromium refused the second registration and logged
 * every video packet's extensions as unidentified. Call once on `peer.config` after construction
 * (werift renumbers only in `setConfiguration`); an offer's own ids still win when the edge answers.
 */
export function shareExtensionIdsAcrossKinds(headerExtensions: {
  audio?: RTCRtpHeaderExtensionParameters[];
  video?: RTCRtpHeaderExtensionParameters[];
}): void {
  const ids = new Map<string, number>();
  for (const extension of [...(headerExtensions.audio ?? []), ...(headerExtensions.video ?? [])]) {
    const id = ids.get(extension.uri) ?? ids.size + 1;
    ids.set(extension.uri, id);
    extension.id = id;
  }
}
