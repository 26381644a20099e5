import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { dependencyDescriptor } from '../../edge/media/dependencyDescriptor.js';
import { rtxPacket } from '../../edge/media/rtxPacket.js';
import { FrameExtensions, isIdrAccessUnit } from '../../edge/media/videoRtpExtensions.js';
import { readDependencyDescriptor } from '../support/readDependencyDescriptor.js';

const DD = 6;

/**
 * Hand-computed from the AV1 RTP spec §A.8 for L1T1 (template_id_offset 0, one decode target, key
 * template 0: DTI Switch, no fdiffs; delta template 1: DTI Required, fdiff 1; no chains, no resolutions).
 * A keyframe's first packet, frame 0x0102, not the last:
 *   mandatory      1 0 000000 | 00000001 00000010            → 80 01 02
 *   flags          1 1 0 0 0  (structure, active DTs, no custom fields)
 *   structure      000000 (offset) 00000 (dt_cnt − 1) | 00 11 (layers: same, no more)
 *                  10 11 (DTIs S, R) | 0 (key: no fdiff) 1 0000 0 (delta: fdiff 1) | 0 (chain_cnt = ns(2) = 0)
 *                  0 (no resolutions)
 *   active DTs     1
 *   → 11000000 00000000 00111011 01000000 01000000 (6 padding bits)  → C0 00 3B 40 40
 */
const KEY_FIRST = Buffer.from([0x80, 0x01, 0x02, 0xc0, 0x00, 0x3b, 0x40, 0x40]);

function packets(count: number): RtpPacket[] {
  return Array.from(
    { length: count },
    (_, i) =>
      new RtpPacket(
        new RtpHeader({ sequenceNumber: i, timestamp: 9000, marker: i === count - 1 }),
        Buffer.alloc(100, i),
      ),
  );
}

function ddOf(packet: RtpPacket): Buffer | undefined {
  return packet.header.extensions.find((e) => e.id === DD)?.payload;
}

describe('Dependency Descriptor writer (AV1 RTP spec §A.8, L1T1)', () => {
  it('writes the mandatory fields in three bytes for every packet that attaches no structure', () => {
    const delta = (startOfFrame: boolean, endOfFrame: boolean) =>
      dependencyDescriptor({
        startOfFrame,
        endOfFrame,
        frameNumber: 0x1234,
        keyframe: false,
        attachStructure: false,
      });
    // start, end, template_id 1 (delta), frame_number.
    expect(delta(true, false)).toEqual(Buffer.from([0x81, 0x12, 0x34]));
    expect(delta(false, false)).toEqual(Buffer.from([0x01, 0x12, 0x34]));
    expect(delta(false, true)).toEqual(Buffer.from([0x41, 0x12, 0x34]));
    expect(delta(true, true)).toEqual(Buffer.from([0xc1, 0x12, 0x34]));
    // A keyframe's later packets: template 0; the frame number wraps at 16 bits.
    const keyLast = dependencyDescriptor({
      startOfFrame: false,
      endOfFrame: true,
      frameNumber: 0x1_0005,
      keyframe: true,
      attachStructure: false,
    });
    expect(keyLast).toEqual(Buffer.from([0x40, 0x00, 0x05]));
  });

  it("attaches the template structure and active decode targets to a keyframe's first packet", () => {
    const written = dependencyDescriptor({
      startOfFrame: true,
      endOfFrame: false,
      frameNumber: 0x0102,
      keyframe: true,
      attachStructure: true,
    });
    expect(written).toEqual(KEY_FIRST);
  });

  it('reads back (a reader written from the spec): structure, templates, references, padding', () => {
    const key = readDependencyDescriptor(KEY_FIRST);
    expect(key).toMatchObject({ startOfFrame: true, endOfFrame: false, templateId: 0, frameNumber: 0x0102 });
    expect(key.structure).toEqual({
      templateIdOffset: 0,
      decodeTargets: 1,
      templates: [
        { spatialId: 0, temporalId: 0, dtis: [2], fdiffs: [], chainFdiffs: [] },
        { spatialId: 0, temporalId: 0, dtis: [3], fdiffs: [1], chainFdiffs: [] },
      ],
      chains: 0,
      protectedBy: [],
      resolutions: undefined,
    });
    expect(key.activeDecodeTargets).toBe(1);
    expect(key.fdiffs).toEqual([]);
    expect(key.paddingBits).toBe(6);
    expect(key.padding).toBe(0);
    const delta = readDependencyDescriptor(
      dependencyDescriptor({
        startOfFrame: true,
        endOfFrame: true,
        frameNumber: 0x0103,
        keyframe: false,
        attachStructure: false,
      }),
      key.structure,
    );
    expect(delta).toMatchObject({
      startOfFrame: true,
      endOfFrame: true,
      frameNumber: 0x0103,
      fdiffs: [1],
      dtis: [3],
    });
    expect(() => readDependencyDescriptor(Buffer.from([0x81, 0, 1]))).toThrow(/no structure/);
  });
});

describe('FrameExtensions: per-frame extensions on the packetized frame', () => {
  it('numbers frames, marks first/last packets, structure on keyframes only, keeps capture time and playout delay', () => {
    const extensions = new FrameExtensions({ playoutDelay: 5, captureTime: 4, dependencyDescriptor: DD });
    expect(extensions.dependencyDescriptor).toBe(true);
    const key = packets(3);
    extensions.stamp(key, 1_700_000_000_000, true);
    const deltas = [packets(2), packets(1)];
    for (const frame of deltas) extensions.stamp(frame, 1_700_000_000_016, false);
    const structure = readDependencyDescriptor(ddOf(key[0] as RtpPacket) as Buffer).structure;
    expect(structure?.templates).toHaveLength(2);
    const read = [key, ...deltas].map((frame) =>
      frame.map((p) => readDependencyDescriptor(ddOf(p) as Buffer, structure)),
    );
    expect(read.map((frame) => frame.map((d) => [d.frameNumber, d.startOfFrame, d.endOfFrame]))).toEqual([
      [
        [0, true, false],
        [0, false, false],
        [0, false, true],
      ],
      [
        [1, true, false],
        [1, false, true],
      ],
      [[2, true, true]],
    ]);
    expect(read.flat().filter((d) => d.structure).length).toBe(1);
    expect(read[1]?.[0]?.fdiffs).toEqual([1]);
    expect(read[0]?.[0]?.fdiffs).toEqual([]);
    // playout-delay and abs-capture-time stay on each frame's first packet only.
    for (const frame of [key, ...deltas]) {
      expect((frame[0] as RtpPacket).header.extensions.map((e) => e.id).sort()).toEqual([4, 5, DD]);
      for (const p of frame.slice(1)) expect(p.header.extensions.map((e) => e.id)).toEqual([DD]);
    }
  });

  it('without a negotiated descriptor stamps only the first packet, as before', () => {
    const extensions = new FrameExtensions({ playoutDelay: 5, captureTime: 4 });
    const frame = packets(2);
    extensions.stamp(frame, 0, true);
    expect(extensions.dependencyDescriptor).toBe(false);
    expect(frame.map((p) => p.header.extensions.map((e) => e.id))).toEqual([[5, 4], []]);
  });

  it('tells an IDR access unit from a delta one (Annex B)', () => {
    const nal = (type: number, long = false) =>
      Buffer.from([...(long ? [0, 0, 0, 1] : [0, 0, 1]), type, 0xaa, 0xbb]);
    expect(isIdrAccessUnit(Buffer.concat([nal(7, true), nal(8), nal(6), nal(5)]))).toBe(true);
    expect(isIdrAccessUnit(Buffer.concat([nal(0x65, true)]))).toBe(true); // nal_ref_idc 3
    expect(isIdrAccessUnit(Buffer.concat([nal(9, true), nal(0x41)]))).toBe(false);
  });
});

describe('RTX keeps the original packet’s extensions', () => {
  it('a re-sent packet carries its Dependency Descriptor (and capture time) on the RTX SSRC', () => {
    const extensions = new FrameExtensions({
      playoutDelay: undefined,
      captureTime: 4,
      dependencyDescriptor: DD,
    });
    const frame = packets(2);
    extensions.stamp(frame, 1_700_000_000_000, true);
    const sender = { rtxPayloadType: 97, rtxSsrc: 42, rtxSequenceNumber: 7, timestampOffset: 0 };
    const rtx = rtxPacket(sender, frame[0] as RtpPacket, 1234);
    expect(rtx).toBeDefined();
    const onWire = RtpPacket.deSerialize(
      new RtpPacket(rtx?.header as RtpHeader, rtx?.payload as Buffer).serialize(),
    );
    expect(onWire.header.ssrc).toBe(42);
    expect(onWire.payload.readUInt16BE(0)).toBe(1234);
    const dd = onWire.header.extensions.find((e) => e.id === DD)?.payload;
    expect(dd).toEqual(ddOf(frame[0] as RtpPacket));
    expect(readDependencyDescriptor(dd as Buffer).structure).toBeDefined();
    expect(onWire.header.extensions.some((e) => e.id === 4)).toBe(true);
  });
});
