/** The Dependency Descriptor RTP header extension (AV1 RTP spec, appendix A). */
export const DEPENDENCY_DESCRIPTOR_URI =
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension';

/** The header extension control of WebRTC's transceiver (RFC 9429 §5.2.x; not in every lib.dom yet). */
interface HeaderExtensionControl {
  getHeaderExtensionsToNegotiate?: () => Array<{ uri: string; direction: string }>;
  setHeaderExtensionsToNegotiate?: (extensions: Array<{ uri: string; direction: string }>) => void;
}

/**
 * Makes sure the answer accepts the edge's Dependency Descriptor on the video. Chromium 156 already
 * accepts it when answering an offer that has it (its transceiver lists it "sendrecv" once the offer is
 * set) but leaves it "stopped" on transceivers the page adds itself, so an offering page (WHEP) must ask
 * for it; asking here too keeps the answer right should a browser need it. With it the browser finds each
 * H.264 frame's references from the descriptor rather than from sequence numbers, which lets the edge add
 * FEC safely (edge/README.md, "Loss recovery"). Call after the offer is set and before `createAnswer`.
 * Browsers without the API or the extension answer without it (the edge then sends neither it nor FEC).
 * Returns whether it is on for some video transceiver.
 */
export function negotiateDependencyDescriptor(pc: RTCPeerConnection): boolean {
  let enabled = false;
  for (const transceiver of pc.getTransceivers()) {
    if (transceiver.receiver.track.kind !== 'video') continue;
    const control = transceiver as RTCRtpTransceiver & HeaderExtensionControl;
    if (!control.getHeaderExtensionsToNegotiate || !control.setHeaderExtensionsToNegotiate) continue;
    try {
      const extensions = control.getHeaderExtensionsToNegotiate();
      const dd = extensions.find((e) => e.uri === DEPENDENCY_DESCRIPTOR_URI);
      if (!dd) continue;
      if (dd.direction !== 'sendrecv') {
        dd.direction = 'sendrecv';
        control.setHeaderExtensionsToNegotiate(extensions);
      }
      enabled = true;
    } catch {
      // An implementation that refuses the change: answer without it.
    }
  }
  return enabled;
}
