import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  useAbsSendTime,
  useSdesMid,
  useTransportWideCC,
  useTWCC,
} from 'werift';
import type { EdgeConfig } from '../config.js';
import { VIDEO_CLOCK_RATE } from '../media/H264Encoder.js';
import { boundCompoundRtcp } from '../media/rtcpCompound.js';
import {
  ABS_CAPTURE_TIME_URI,
  DEPENDENCY_DESCRIPTOR_URI,
  PLAYOUT_DELAY_URI,
  shareExtensionIdsAcrossKinds,
} from './rtpHeaderExtensions.js';

/**
 * The peer factory: a werift peer connection with the edge's codecs (H.264 constrained baseline with
 * NACK/PLI/FIR/REMB and, when `congestionControl` is on, transport-cc feedback, and with `fec` also RED,
 * RTX for RED and ULPFEC; Opus), RTP header
 * extensions (mid, abs-send-time, abs-capture-time, transport-wide sequence numbers on video only — the
 * browser addresses its feedback to the SSRC of the last numbered packet, so audio stays unnumbered —
 * when configured, playout-delay, and the Dependency Descriptor on video; one id per URI across audio and video, as the BUNDLE needs),
 * ICE servers and host candidate filters from config. Also bounds werift's compound RTCP parsing
 * (`boundCompoundRtcp`: NACKs read the packets after them as lost sequence numbers).
 */
export function createPeerConnection(config: Readonly<EdgeConfig>): RTCPeerConnection {
  boundCompoundRtcp();
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
            ...(config.congestionControl ? [useTWCC()] : []),
          ],
          parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
        }),
        // Retransmissions on their own SSRC (werift numbers it apt = H.264's payload type).
        new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: VIDEO_CLOCK_RATE }),
        // FEC: RED carrying H.264 or ULPFEC, and RTX for RED (apt = the codec just before it).
        ...(config.fec && config.congestionControl
          ? [
              new RTCRtpCodecParameters({ mimeType: 'video/red', clockRate: VIDEO_CLOCK_RATE }),
              new RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: VIDEO_CLOCK_RATE }),
              new RTCRtpCodecParameters({ mimeType: 'video/ulpfec', clockRate: VIDEO_CLOCK_RATE }),
            ]
          : []),
      ],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
    },
    headerExtensions: {
      video: [
        useSdesMid(),
        useAbsSendTime(),
        ...(config.congestionControl ? [useTransportWideCC()] : []),
        new RTCRtpHeaderExtensionParameters({ uri: ABS_CAPTURE_TIME_URI }),
        ...(config.zeroPlayoutDelay ? [new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI })] : []),
        new RTCRtpHeaderExtensionParameters({ uri: DEPENDENCY_DESCRIPTOR_URI }),
      ],
      audio: [useSdesMid(), useAbsSendTime()],
    },
  });
  shareExtensionIdsAcrossKinds(peer.config.headerExtensions);
  return peer;
}
