import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  GenericNack,
  RTCRtpSender,
  RtcpTransportLayerFeedback,
  type RtpHeader,
  RtpHeader as RtpHeaderClass,
  RtpPacket,
} from 'werift';
import { type FecPayloadTypes, isFecPacket, VideoFec } from '../../edge/media/fec/VideoFec.js';
import { NackResponder } from '../../edge/media/NackResponder.js';
import { SyncClock } from './helpers/SyncClock.js';

const RTX_FOR_RED = 117;
const TYPES: FecPayloadTypes = { media: 102, red: 116, ulpfec: 118, rtxForRed: RTX_FOR_RED };

interface Sent {
  payloadType: number;
  /** The original sequence number an RTX packet carries. */
  original: number;
}

/**
 * A real werift video sender as the edge has it after negotiation (H.264, RTX for RED), its NACKs
 * answered by a `NackResponder`; what it puts on its DTLS transport is collected (the transport is the
 * network's side: only what leaves is looked at). 300 frames of 20 packets under 2 % loss go through
 * `VideoFec` and are recorded as sent, 1 ms apart.
 */
function streamWithFec(): {
  clock: SyncClock;
  nack: (seqs: number[]) => void;
  sent: Sent[];
  /** Wire sequence numbers in order, with whether each is FEC. */
  wire: Array<{ seq: number; fec: boolean }>;
} {
  const sender = new RTCRtpSender('video');
  const sent: Sent[] = [];
  const internals = sender as unknown as Record<string, unknown>;
  internals.codec = { payloadType: TYPES.media };
  internals.rtxPayloadType = 103;
  internals.dtlsTransport = {
    sendRtp: async (payload: Buffer, header: RtpHeader) => {
      sent.push({ payloadType: header.payloadType, original: payload.readUInt16BE(0) });
      return payload.length;
    },
  };
  const clock = new SyncClock();
  const responder = new NackResponder({
    sender,
    clock,
    budgetBps: () => 100_000_000,
    rtxForRed: RTX_FOR_RED,
  });
  const seqOffset = internals.seqOffset as number;
  const fec = new VideoFec({
    payloadTypes: TYPES,
    wire: () => ({ ssrc: sender.ssrc, seqOffset, timestampOffset: 0, senderExtensions: [] }),
    lossFraction: () => 0.02,
  });
  const wire: Array<{ seq: number; fec: boolean }> = [];
  for (let f = 0; f < 300; f++) {
    const media = Array.from({ length: 20 }, (_, i) => {
      const header = new RtpHeaderClass({ sequenceNumber: 0, timestamp: f * 1500, marker: i === 19 });
      return new RtpPacket(header, randomBytes(300));
    });
    for (const packet of fec.protect(media)) {
      clock.advanceTo(clock.time + 1);
      responder.record(packet);
      wire.push({ seq: (packet.header.sequenceNumber + seqOffset) & 0xffff, fec: isFecPacket(packet) });
    }
  }
  const nack = (seqs: number[]): void => {
    const feedback = new GenericNack({ senderSsrc: 1, mediaSourceSsrc: sender.ssrc, lost: seqs });
    sender.handleRtcpPacket(new RtcpTransportLayerFeedback({ feedback }));
  };
  return { clock, nack, sent, wire };
}

describe('NackResponder with FEC: padding the receiver has forgotten', () => {
  it('a recent repair is re-sent alone', () => {
    const { nack, sent, wire } = streamWithFec();
    const recent = wire.at(-30);
    expect(recent?.fec).toBe(false);
    nack([recent?.seq as number]);
    expect(sent).toEqual([{ payloadType: RTX_FOR_RED, original: recent?.seq }]);
  });

  it('a late repair is followed by every FEC packet more than 60 numbers behind the newest, twice, in order', () => {
    const { nack, sent, wire } = streamWithFec();
    const lateIndex = wire.length - 200;
    const late = wire[lateIndex];
    expect(late?.fec).toBe(false);
    nack([late?.seq as number]);
    const expected = wire
      .slice(lateIndex + 1, wire.length - 60)
      .filter((p) => p.fec)
      .flatMap((p) => [p.seq, p.seq]);
    expect(expected.length).toBeGreaterThan(10);
    expect(sent.map((s) => s.original)).toEqual([late?.seq, ...expected]);
    expect(sent.every((s) => s.payloadType === TYPES.rtxForRed)).toBe(true);
  });
});
