import { describe, expect, it } from 'vitest';
import { RtcpPacketConverter, type RtcpTransportLayerFeedback, type TransportWideCC } from 'werift';
import { readTransportFeedback } from '../../edge/media/congestion/readTransportFeedback.js';
import { TransportFeedbackSender } from '../../edge/operator/TransportFeedbackSender.js';

describe("the Node receiver's transport-cc feedback", () => {
  it('reads back as the edge reads it: statuses, losses, arrival gaps and the 16-bit wrap', () => {
    const sent: Buffer[] = [];
    const feedback = new TransportFeedbackSender({
      sink: {
        sendRtcp: async (packets) => {
          for (const packet of packets) sent.push(packet.serialize());
        },
      },
      senderSsrc: 1,
      intervalMs: 60_000,
    });
    try {
      // 65530 … 65535, 0 … 3 with 65533 and 1 lost; 1 ms apart, then one 100 ms gap (a large delta).
      const arrivals: Array<[number, number]> = [];
      let t = 5_000;
      for (const seq of [65530, 65531, 65532, 65534, 65535, 0, 2]) {
        arrivals.push([seq, t]);
        t += 1;
      }
      arrivals.push([3, t + 100]);
      for (const [seq, ms] of arrivals) feedback.onPacket(seq, 42, ms);
      feedback.flush();
      expect(sent).toHaveLength(1);
      const [packet] = RtcpPacketConverter.deSerialize(sent[0] as Buffer) as RtcpTransportLayerFeedback[];
      const report = readTransportFeedback(packet?.feedback as TransportWideCC);
      expect(report.packets.map((p) => p.seq)).toEqual([
        65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3,
      ]);
      expect(report.packets.map((p) => p.arrivalUs !== undefined)).toEqual([
        true,
        true,
        true,
        false,
        true,
        true,
        true,
        false,
        true,
        true,
      ]);
      const times = report.packets.flatMap((p) => (p.arrivalUs === undefined ? [] : [p.arrivalUs / 1000]));
      const gaps = times.slice(1).map((time, i) => Math.round(time - (times[i] ?? 0)));
      expect(gaps).toEqual([1, 1, 1, 1, 1, 1, 101]);
      // Nothing new: nothing sent.
      feedback.flush();
      expect(sent).toHaveLength(1);
    } finally {
      feedback.close();
    }
  });
});
