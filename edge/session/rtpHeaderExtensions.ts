import type { RTCRtpSender } from 'werift';

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

/** Negotiated id of the header extension `uri` on `sender`, or undefined when the player did not accept it. */
export function negotiatedExtensionId(sender: RTCRtpSender, uri: string): number | undefined {
  // werift keeps the negotiated extension list private; read it without widening its types.
  const negotiated = (sender as unknown as { headerExtensions?: Array<{ id: number; uri: string }> })
    .headerExtensions;
  return negotiated?.find((e) => e.uri === uri)?.id;
}
