import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  GenericNack,
  RTCRtpSender,
  RtcpPacketConverter,
  RtcpRrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
} from 'werift';
import { NackResponder } from '../../edge/media/NackResponder.js';
import { offerReceiverRtt, ReceiverRttResponder } from '../../edge/media/ReceiverRttResponder.js';
import { boundCompoundRtcp } from '../../edge/media/rtcpCompound.js';
import { SyncClock } from './helpers/SyncClock.js';

const PLAYER_SSRC = 0x11223344;

/** An RTCP XR packet from the player with one Receiver Reference Time block (RFC 3611 §4.4). */
function rrtrPacket(ntpSeconds: number, ntpFraction: number): Buffer {
  const packet = Buffer.alloc(20);
  packet[0] = 0x80;
  packet[1] = 207;
  packet.writeUInt16BE(4, 2);
  packet.writeUInt32BE(PLAYER_SSRC, 4);
  packet[8] = 4; // RRTR
  packet.writeUInt16BE(2, 10);
  packet.writeUInt32BE(ntpSeconds, 12);
  packet.writeUInt32BE(ntpFraction, 16);
  return packet;
}

/** A werift video sender whose DTLS transport (the network's side) hands it RTCP and collects what it sends. */
function senderOnTransport(): {
  sender: RTCRtpSender;
  deliver: (rtcp: Buffer) => void;
  rtcpSent: Buffer[];
  rtxSent: number[];
} {
  boundCompoundRtcp();
  const sender = new RTCRtpSender('video');
  const listeners: Array<(packet: unknown) => void> = [];
  const rtcpSent: Buffer[] = [];
  const rtxSent: number[] = [];
  const internals = sender as unknown as Record<string, unknown>;
  internals.codec = { payloadType: 102 };
  internals.rtxPayloadType = 103;
  internals.dtlsTransport = {
    onRtcp: {
      subscribe: (listener: (packet: unknown) => void) => {
        listeners.push(listener);
        return { unSubscribe: () => listeners.splice(listeners.indexOf(listener), 1) };
      },
    },
    sendRtcp: async (packets: Array<{ serialize(): Buffer }>) => {
      rtcpSent.push(Buffer.concat(packets.map((p) => p.serialize())));
    },
    sendRtp: async (payload: Buffer) => {
      rtxSent.push(payload.readUInt16BE(0));
      return payload.length;
    },
  };
  const deliver = (rtcp: Buffer): void => {
    for (const packet of RtcpPacketConverter.deSerialize(rtcp)) for (const l of [...listeners]) l(packet);
  };
  return { sender, deliver, rtcpSent, rtxSent };
}

describe('ReceiverRttResponder: the player can measure its RTT', () => {
  it('offers rcvr-rtt on the video section only', () => {
    const sdp =
      'v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n';
    const offered = offerReceiverRtt(sdp);
    expect(offered).toBe(`${sdp}a=rtcp-xr:rcvr-rtt=all\r\n`);
    expect(offerReceiverRtt(offered)).toBe(offered);
  });

  it("answers a Receiver Reference Time in the player's compound RTCP with a DLRR the player can take its RTT from", () => {
    const { sender, deliver, rtcpSent } = senderOnTransport();
    const responder = new ReceiverRttResponder({ sender });
    const rr = new RtcpRrPacket({ ssrc: PLAYER_SSRC, reports: [] }).serialize();
    deliver(Buffer.concat([rr, rrtrPacket(0xe1234567, 0x89abcdef)]));
    expect(rtcpSent).toHaveLength(1);
    const answer = rtcpSent[0] as Buffer;
    // XR from the edge's video SSRC, one DLRR block: the player's SSRC, LRR = middle 32 bits, no delay.
    expect(answer[1]).toBe(207);
    expect(answer.readUInt16BE(2)).toBe(answer.length / 4 - 1);
    expect(answer.readUInt32BE(4)).toBe(sender.ssrc);
    expect(answer[8]).toBe(5);
    expect(answer.readUInt32BE(12)).toBe(PLAYER_SSRC);
    expect(answer.readUInt32BE(16)).toBe(0x456789ab);
    expect(answer.readUInt32BE(20)).toBe(0);
    responder.close();
    deliver(rrtrPacket(1, 2));
    expect(rtcpSent).toHaveLength(1);
  });
});

describe('NackResponder: a retry after a lost re-send', () => {
  function responder(): { nack: (seq: number) => void; clock: SyncClock; rtxSent: number[]; seq: number } {
    const { sender, rtxSent } = senderOnTransport();
    const internals = sender as unknown as { rtt: number; seqOffset: number };
    // werift's SR/RR round trip reads longer than the player's (XR) on a 30 ms link.
    internals.rtt = 0.045;
    const clock = new SyncClock();
    const nacks = new NackResponder({ sender, clock, budgetBps: () => 100_000_000 });
    const packet = new RtpPacket(new RtpHeader({ sequenceNumber: 500, timestamp: 0 }), randomBytes(300));
    nacks.record(packet);
    const seq = (500 + internals.seqOffset) & 0xffff;
    const nack = (lost: number): void => {
      const feedback = new GenericNack({
        senderSsrc: PLAYER_SSRC,
        mediaSourceSsrc: sender.ssrc,
        lost: [lost],
      });
      sender.handleRtcpPacket(new RtcpTransportLayerFeedback({ feedback }));
    };
    return { nack, clock, rtxSent, seq };
  }

  it("is answered when it comes one of the player's RTTs later, below the edge's own RTT", () => {
    const { nack, clock, rtxSent, seq } = responder();
    clock.advanceTo(clock.time + 30);
    nack(seq);
    clock.advanceTo(clock.time + 25);
    nack(seq);
    expect(rtxSent).toEqual([seq, seq]);
  });

  it('the same number in back-to-back NACKs is re-sent once', () => {
    const { nack, clock, rtxSent, seq } = responder();
    clock.advanceTo(clock.time + 30);
    nack(seq);
    clock.advanceTo(clock.time + 2);
    nack(seq);
    expect(rtxSent).toEqual([seq]);
  });
});
