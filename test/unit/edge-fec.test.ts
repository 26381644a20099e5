import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { fecPacketCount, interleavedGroups, ulpfecPayload } from '../../edge/media/fec/ulpfec.js';
import {
  type FecPayloadTypes,
  VideoFec,
  type WireContext,
  wireImage,
} from '../../edge/media/fec/VideoFec.js';
import { FrameExtensions } from '../../edge/media/videoRtpExtensions.js';
import { readDependencyDescriptor } from '../support/readDependencyDescriptor.js';

/**
 * A minimal ULPFEC decoder (RFC 5109 §8, as libwebrtc's ForwardErrorCorrection recovers): from one FEC
 * payload and the protected packets that arrived (wire images by sequence number), rebuilds the one that
 * did not. Undefined when none or more than one is missing.
 */
function recover(fec: Buffer, received: Map<number, Buffer>, ssrc: number): Buffer | undefined {
  const long = (fec[0] as number) & 0x40;
  const headerBytes = long ? 18 : 14;
  const seqBase = fec.readUInt16BE(2);
  const bits = long ? 48 : 16;
  const mask = long
    ? (BigInt(fec.readUInt32BE(12)) << 16n) | BigInt(fec.readUInt16BE(16))
    : BigInt(fec.readUInt16BE(12));
  const protectedSeqs: number[] = [];
  for (let i = 0; i < bits; i++)
    if ((mask >> BigInt(bits - 1 - i)) & 1n) protectedSeqs.push((seqBase + i) & 0xffff);
  const missing = protectedSeqs.filter((seq) => !received.has(seq));
  if (missing.length !== 1) return undefined;
  const protectionLength = fec.readUInt16BE(10);
  const head = Buffer.from(fec.subarray(0, 10));
  const body = Buffer.alloc(protectionLength);
  fec.copy(body, 0, headerBytes, headerBytes + protectionLength);
  for (const seq of protectedSeqs) {
    const packet = received.get(seq);
    if (!packet) continue;
    head[0] = (head[0] as number) ^ (packet[0] as number);
    head[1] = (head[1] as number) ^ (packet[1] as number);
    for (let b = 4; b < 8; b++) head[b] = (head[b] as number) ^ (packet[b] as number);
    head.writeUInt16BE(head.readUInt16BE(8) ^ (packet.length - 12), 8);
    for (let b = 12; b < packet.length; b++) body[b - 12] = (body[b - 12] as number) ^ (packet[b] as number);
  }
  const length = head.readUInt16BE(8);
  const out = Buffer.alloc(12 + length);
  out[0] = 0x80 | ((head[0] as number) & 0x3f);
  out[1] = head[1] as number;
  out.writeUInt16BE(missing[0] as number, 2);
  head.copy(out, 4, 4, 8);
  out.writeUInt32BE(ssrc, 8);
  body.copy(out, 12, 0, length);
  return out;
}

const SSRC = 0x1234_5678;
const TYPES: FecPayloadTypes = { media: 102, red: 116, ulpfec: 118, rtxForRed: 117 };
/** As werift stamps a video sender's packets: mid, then transport-wide number (zeros: its value is per packet). */
const WIRE: WireContext = {
  ssrc: SSRC,
  seqOffset: 1000,
  timestampOffset: 77,
  senderExtensions: [
    { id: 1, payload: Buffer.from('0') },
    { id: 3, payload: Buffer.alloc(2) },
  ],
};

/** One frame as the H.264 packetizer gives it: `count` packets, random sizes, marker on the last, capture time on the first. */
function frame(count: number, firstSeq: number, timestamp: number): RtpPacket[] {
  return Array.from({ length: count }, (_, i) => {
    const header = new RtpHeader({
      sequenceNumber: (firstSeq + i) & 0xffff,
      timestamp,
      marker: i === count - 1,
      payloadType: 96,
    });
    if (i === 0) header.extensions.push({ id: 5, payload: randomBytes(8) });
    return new RtpPacket(header, randomBytes(200 + Math.floor(Math.random() * 1000)));
  });
}

/** Media packets as the receiver restores them from RED: its own payload type, the RED byte gone. */
function unwrapped(packet: RtpPacket): RtpPacket {
  const header = new RtpHeader({ ...packet.header, extensions: [...packet.header.extensions] });
  return new RtpPacket(header, packet.payload.subarray(1));
}

describe('ULPFEC (RFC 5109) parity', () => {
  it('each FEC packet rebuilds any one lost packet of its group, bit for bit', () => {
    const media = Array.from({ length: 30 }, (_, i) => {
      const header = new RtpHeader({
        sequenceNumber: (65_520 + i) & 0xffff,
        timestamp: 3000,
        marker: i === 29,
        payloadType: 102,
        ssrc: SSRC,
      });
      return new RtpPacket(header, randomBytes(50 + ((i * 97) % 1150))).serialize();
    });
    const seqs = media.map((image) => image.readUInt16BE(2)); // wraps through 0
    for (const count of [1, 3, 7]) {
      for (const group of interleavedGroups(media.length, count)) {
        const base = seqs[group[0] as number] as number;
        const fec = ulpfecPayload(media, seqs, group, base);
        for (const lost of group) {
          const received = new Map(
            group.filter((i) => i !== lost).map((i) => [seqs[i] as number, media[i] as Buffer]),
          );
          expect(recover(fec, received, SSRC)?.equals(media[lost] as Buffer)).toBe(true);
        }
        // Two lost in one group: parity cannot tell them apart.
        if (group.length >= 2) {
          const received = new Map(group.slice(2).map((i) => [seqs[i] as number, media[i] as Buffer]));
          expect(recover(fec, received, SSRC)).toBeUndefined();
        }
      }
    }
  });

  it('groups cover every packet once, within 48 sequence numbers, neighbours in different groups', () => {
    for (const [n, k] of [
      [1, 1],
      [20, 5],
      [48, 3],
      [49, 4],
      [130, 65],
    ] as const) {
      const groups = interleavedGroups(n, k);
      expect(groups.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const group of groups) expect((group.at(-1) ?? 0) - (group[0] ?? 0)).toBeLessThan(48);
      if (k >= 2 && n <= 48)
        for (const group of groups)
          for (let i = 1; i < group.length; i++)
            expect((group[i] as number) - (group[i - 1] as number)).toBeGreaterThan(1);
    }
  });

  it('adds no FEC without loss and more with more loss, at most one per four packets', () => {
    expect(fecPacketCount(20, 0)).toBe(0);
    expect(fecPacketCount(20, 0.001)).toBe(0);
    const at1 = fecPacketCount(20, 0.01);
    const at2 = fecPacketCount(20, 0.02);
    const at5 = fecPacketCount(20, 0.05);
    expect(at1).toBeGreaterThanOrEqual(1);
    expect(at2).toBeGreaterThan(at1);
    expect(at5).toBeGreaterThanOrEqual(at2);
    expect(fecPacketCount(20, 0.3)).toBe(5);
    expect(fecPacketCount(150, 0.02)).toBe(38);
  });
});

describe('VideoFec (ULPFEC in RED)', () => {
  it('without loss: every packet in RED, numbered on, no FEC', () => {
    const fec = new VideoFec({ payloadTypes: TYPES, wire: () => WIRE, lossFraction: () => 0 });
    const sent = fec.protect(frame(10, 500, 9000));
    expect(sent).toHaveLength(10);
    expect(sent.map((p) => p.header.sequenceNumber)).toEqual(Array.from({ length: 10 }, (_, i) => 500 + i));
    for (const packet of sent) {
      expect(packet.header.payloadType).toBe(TYPES.red);
      expect(packet.payload[0]).toBe(TYPES.media); // RED: one block, F = 0
    }
    expect(fec.stats.fecPackets).toBe(0);
  });

  it('under 2 % loss a frame is followed by FEC that rebuilds any one dropped packet as the receiver gets it', () => {
    const fec = new VideoFec({ payloadTypes: TYPES, wire: () => WIRE, lossFraction: () => 0.02 });
    let seq = 65_000;
    let sent: RtpPacket[] = [];
    let media: RtpPacket[] = [];
    for (let f = 0; f < 200; f++) {
      media = frame(20, seq, 90_000 + f * 1500);
      sent = fec.protect(media);
      seq += 20;
    }
    expect(fec.loss).toBeGreaterThan(0.015);
    const count = fecPacketCount(20, fec.loss);
    expect(sent).toHaveLength(20 + count);
    expect(count).toBeGreaterThan(1);
    // One sequence space: media then FEC, no gaps (the numbering continued across frames).
    const first = sent[0]?.header.sequenceNumber ?? 0;
    expect(sent.map((p) => p.header.sequenceNumber)).toEqual(sent.map((_, i) => (first + i) & 0xffff));
    const fecPackets = sent.slice(20);
    for (const p of fecPackets) {
      expect(p.header.payloadType).toBe(TYPES.red);
      expect(p.payload[0]).toBe(TYPES.ulpfec);
    }
    // What the receiver holds after taking RED off: media payload type, the sender's numbering and extensions.
    const images = sent.slice(0, 20).map((p) => wireImage(unwrapped(p), WIRE, TYPES.media));
    const bySeq = new Map(images.map((image) => [image.readUInt16BE(2), image]));
    for (let lost = 0; lost < 20; lost++) {
      const lostSeq = (images[lost] as Buffer).readUInt16BE(2);
      const received = new Map([...bySeq].filter(([s]) => s !== lostSeq));
      const rebuilt = fecPackets
        .map((p) => recover(p.payload.subarray(1), received, SSRC))
        .find((r) => r !== undefined);
      expect(rebuilt?.equals(images[lost] as Buffer)).toBe(true);
      expect(rebuilt?.readUInt8(1)).toBe((lost === 19 ? 0x80 : 0) | TYPES.media);
    }
    expect(fec.stats.fecPackets).toBeGreaterThan(0);
    expect(fec.overhead).toBeGreaterThan(0.05);
  });
});

describe('VideoFec with the Dependency Descriptor', () => {
  it('a packet rebuilt from FEC keeps its descriptor (the parity covers the extensions)', () => {
    const DD = 6;
    const fec = new VideoFec({ payloadTypes: TYPES, wire: () => WIRE, lossFraction: () => 0.02 });
    const extensions = new FrameExtensions({
      playoutDelay: undefined,
      captureTime: 5,
      dependencyDescriptor: DD,
    });
    let sent: RtpPacket[] = [];
    for (let f = 0; f < 200; f++) {
      const media = frame(20, 1000 + f * 40, 90_000 + f * 1500);
      for (const p of media) p.header.extensions = [];
      extensions.stamp(media, 1_700_000_000_000 + f * 16, f === 0 || f === 199);
      sent = fec.protect(media);
    }
    const images = sent.slice(0, 20).map((p) => wireImage(unwrapped(p), WIRE, TYPES.media));
    const fecPackets = sent.slice(20);
    expect(fecPackets.length).toBeGreaterThan(0);
    const bySeq = new Map(images.map((image) => [image.readUInt16BE(2), image]));
    const firstDd = (sent[0] as RtpPacket).header.extensions.find((e) => e.id === DD)?.payload;
    const { structure } = readDependencyDescriptor(firstDd as Buffer);
    for (const lost of [0, 7, 19]) {
      const lostSeq = (images[lost] as Buffer).readUInt16BE(2);
      const received = new Map([...bySeq].filter(([s]) => s !== lostSeq));
      const rebuilt = fecPackets
        .map((p) => recover(p.payload.subarray(1), received, SSRC))
        .find((r) => r !== undefined);
      const dd = RtpPacket.deSerialize(rebuilt as Buffer).header.extensions.find((e) => e.id === DD)?.payload;
      const read = readDependencyDescriptor(dd as Buffer, structure);
      expect(read).toMatchObject({ frameNumber: 199, startOfFrame: lost === 0, endOfFrame: lost === 19 });
      expect(read.structure !== undefined).toBe(lost === 0);
    }
  });
});
