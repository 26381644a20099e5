import {
  GenericNack,
  type RTCRtpSender,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
} from 'werift';
import type { SessionStats } from '../session/SessionStats.js';
import { VIDEO_CLOCK_RATE } from './H264Encoder.js';

/** FIR (RFC 5104) is payload-specific feedback format 4. */
const FIR_FORMAT = 4;

/**
 * Counts what one RTCP packet from the player says about `video` into `stats` (FIR, NACK, receiver
 * reports with werift's RTT); returns 'keyframe' when the player asked for one with FIR (werift passes
 * FIR on without acting on it; PLI arrives through `onPictureLossIndication`).
 */
export function recordVideoRtcp(
  video: RTCRtpSender,
  packet: RtcpPacket,
  stats: SessionStats,
): 'keyframe' | undefined {
  if (packet.type === RtcpPayloadSpecificFeedback.type) {
    const feedback = (packet as RtcpPayloadSpecificFeedback).feedback as { count?: number } | undefined;
    if (feedback?.count === FIR_FORMAT) {
      stats.recordFir();
      return 'keyframe';
    }
  } else if (packet.type === RtcpTransportLayerFeedback.type) {
    const feedback = (packet as RtcpTransportLayerFeedback).feedback as { count?: number } | undefined;
    if (feedback?.count === GenericNack.count) stats.recordNack();
  } else if (packet.type === RtcpRrPacket.type || packet.type === RtcpSrPacket.type) {
    for (const report of (packet as RtcpRrPacket).reports) {
      if (report.ssrc !== video.ssrc) continue;
      // werift computes the RTT from the report's LSR/DLSR before passing the packet on; it keeps it private.
      const rttSeconds = (video as unknown as { rtt?: number }).rtt;
      stats.recordReceiverReport({
        rttMs: rttSeconds === undefined ? undefined : rttSeconds * 1000,
        jitterMs: report.jitter / (VIDEO_CLOCK_RATE / 1000),
        fractionLost: report.fractionLost / 256,
      });
    }
  }
  return undefined;
}
