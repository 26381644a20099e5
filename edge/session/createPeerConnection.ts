import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  useAbsSendTime,
  useSdesMid,
} from 'werift';
import type { EdgeConfig } from '../config.js';
import { VIDEO_CLOCK_RATE } from '../media/H264Encoder.js';
import { ABS_CAPTURE_TIME_URI, PLAYOUT_DELAY_URI } from './rtpHeaderExtensions.js';

/**
 * The peer factory: a werift peer connection with the edge's codecs (H.264 constrained baseline with
 * NACK/PLI/FIR/REMB feedback, Opus), RTP header extensions (mid, abs-send-time, abs-capture-time and,
 * when configured, playout-delay), ICE servers and host candidate filters from config.
 */
export function createPeerConnection(config: Readonly<EdgeConfig>): RTCPeerConnection {
  const allowed = config.iceAllowedAddresses;
  return new RTCPeerConnection({
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
        ...(config.zeroPlayoutDelay ? [new RTCRtpHeaderExtensionParameters({ uri: PLAYOUT_DELAY_URI })] : []),
      ],
      audio: [useSdesMid(), useAbsSendTime()],
    },
  });
}
