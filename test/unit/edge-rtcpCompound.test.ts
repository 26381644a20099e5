import { describe, expect, it } from 'vitest';
import {
  GenericNack,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpTransportLayerFeedback,
} from 'werift';
import { boundCompoundRtcp } from '../../edge/media/rtcpCompound.js';

const VIDEO_SSRC = 193_782_243;

/** What Chromium sends: RR, then a generic NACK, then REMB, in one compound packet. */
function chromiumCompound(lost: number[]): Buffer {
  const rr = new RtcpRrPacket({
    ssrc: 1,
    reports: [
      new RtcpReceiverInfo({
        ssrc: VIDEO_SSRC,
        fractionLost: 5,
        packetsLost: 40,
        highestSequence: 52_572,
        jitter: 90,
        lsr: 0,
        dlsr: 0,
      }),
    ],
  });
  const nack = new RtcpTransportLayerFeedback({
    feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: VIDEO_SSRC, lost }),
  });
  const remb = new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({
      senderSsrc: 1,
      mediaSsrc: 0,
      brExp: 6,
      brMantissa: 160_000,
      ssrcFeedbacks: [VIDEO_SSRC, 36_815],
    }),
  });
  return Buffer.concat([rr.serialize(), nack.serialize(), remb.serialize()]);
}

function nackedSeqs(data: Buffer): number[] {
  const nacks = RtcpPacketConverter.deSerialize(data).filter(
    (p): p is RtcpTransportLayerFeedback => p.type === RtcpTransportLayerFeedback.type,
  );
  return nacks.flatMap((p) => (p.feedback as GenericNack).lost);
}

describe('compound RTCP from the player', () => {
  it('reads a NACK as exactly the sequence numbers the player asked for, not the packets after it', () => {
    boundCompoundRtcp();
    const lost = [52_551, 52_553, 52_560, 52_600];
    const compound = chromiumCompound(lost);
    expect(nackedSeqs(compound)).toEqual(lost);
    // The other packets of the compound still arrive, whole.
    const parsed = RtcpPacketConverter.deSerialize(compound);
    expect(parsed.map((p) => p.type)).toEqual([
      RtcpRrPacket.type,
      RtcpTransportLayerFeedback.type,
      RtcpPayloadSpecificFeedback.type,
    ]);
    const remb = (parsed[2] as RtcpPayloadSpecificFeedback).feedback as ReceiverEstimatedMaxBitrate;
    expect(remb.ssrcFeedbacks).toEqual([VIDEO_SSRC, 36_815]);
    expect((parsed[0] as RtcpRrPacket).reports[0]?.ssrc).toBe(VIDEO_SSRC);
  });
});
