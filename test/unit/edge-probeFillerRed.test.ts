import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  RTCRtpSender,
  RTP_EXTENSION_URI,
  type RtpHeader,
  RtpHeader as RtpHeaderClass,
  RtpPacket,
} from 'werift';
import { CongestionController } from '../../edge/media/congestion/CongestionController.js';
import { type FecPayloadTypes, VideoFec } from '../../edge/media/fec/VideoFec.js';
import { FrameExtensions } from '../../edge/media/videoRtpExtensions.js';
import { SyncClock } from './helpers/SyncClock.js';

const RTX = 103;
const TYPES: FecPayloadTypes = { media: 102, red: 116, ulpfec: 118, rtxForRed: 117 };
const TWCC_ID = 3;
const DD_ID = 6;

/**
 * Probes are filled with copies of recent packets. With FEC every
 * packet is in RED; a plain copy fails Chromium's SRTP replay check before transport-cc counts it, so the
 * probe measured nothing and the estimate crept back after a link drop instead of jumping. What leaves on
 * a real werift sender's DTLS transport is looked at.
 */
describe('probe filler with FEC (RED-wrapped packets)', () => {
  it('pads with RTX copies under RED’s RTX type, numbered for transport-cc, keeping the Dependency Descriptor', async () => {
    const sender = new RTCRtpSender('video');
    const internals = sender as unknown as Record<string, unknown>;
    internals.codec = { payloadType: TYPES.media };
    internals.rtxPayloadType = RTX;
    internals.headerExtensions = [{ id: TWCC_ID, uri: RTP_EXTENSION_URI.transportWideCC }];
    const wire: RtpHeader[] = [];
    const transport = {
      transportSequenceNumber: 0,
      sendRtp: async (_payload: Buffer, header: RtpHeader) => {
        wire.push(header);
        return 0;
      },
    };
    internals.dtlsTransport = transport;
    const clock = new SyncClock();
    const controller = new CongestionController({
      video: sender,
      clock,
      startBps: 2_000_000,
      minBps: 300_000,
      maxBps: 20_000_000,
      rtxForRed: TYPES.rtxForRed as number,
    });
    const fec = new VideoFec({
      payloadTypes: TYPES,
      wire: () => ({ ssrc: sender.ssrc, seqOffset: 0, timestampOffset: 0, senderExtensions: [] }),
      lossFraction: () => 0,
    });
    const extensions = new FrameExtensions({
      playoutDelay: undefined,
      captureTime: undefined,
      dependencyDescriptor: DD_ID,
    });
    for (let f = 0; f < 100; f++) {
      const frame = Array.from({ length: 2 }, (_, i) => {
        const header = new RtpHeaderClass({ sequenceNumber: 0, timestamp: f * 1500, marker: i === 1 });
        return new RtpPacket(header, randomBytes(200));
      });
      extensions.stamp(frame, 0, f === 0);
      // A raised cap is probed for once the start-up probes (which found no recent packet to copy yet, and
      // get no feedback here) have been given up on after a second.
      if (f === 70) controller.setMaxBps(30_000_000);
      void controller.sendFrame(fec.protect(frame));
      await clock.advance(16);
    }
    controller.close();
    const padding = wire.filter((header) => header.ssrc !== sender.ssrc || header.payloadType !== TYPES.red);
    expect(padding.length).toBeGreaterThan(0);
    for (const header of padding) {
      expect(header.payloadType).toBe(TYPES.rtxForRed);
      expect(header.extensions.map((e) => e.id)).toEqual([TWCC_ID, DD_ID]);
    }
  });
});
