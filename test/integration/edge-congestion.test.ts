import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import type { QualityMessage } from '../../protocol/signaling.js';
import { connectPlayer, eventually, startTestEdge } from './edge-support.js';

let server: EdgeServer;
let edge: Edge;

beforeAll(async () => {
  server = await startTestEdge();
  edge = server.edge;
});

afterAll(async () => {
  await server?.close();
});

const qualities = (messages: Array<{ type: string }>): QualityMessage[] =>
  messages.filter((m): m is QualityMessage => m.type === 'quality');

describe('transport-wide congestion control with a player that accepts it', () => {
  it('paces the video by the estimate from its feedback, reports quality, and keeps the bitrate under the cap', async () => {
    const player = connectPlayer(edge, 'latency-probe', { decode: true, transportCc: true });
    try {
      await player.waitFor(() => player.stamps.length >= 20, 20_000, '20 decoded stamped frames');
      const sessionId = player.session?.sessionId;
      const session = () => edge.stats().sessions.find((s) => s.sessionId === sessionId);
      // The player's transport-cc feedback reaches the estimator.
      await eventually(() => (session()?.congestion?.feedbacks ?? 0) > 5, 10_000, 'transport feedback');
      await player.waitFor(() => qualities(player.messages).length > 0, 5_000, 'a quality message');
      const first = qualities(player.messages)[0];
      expect(first).toMatchObject({ width: 1280, height: 720, fps: 60, capKbps: null });
      expect(first?.estimateKbps).toBeGreaterThan(0);

      // A cap under the estimate: the encoder's target goes under it and the page is told.
      player.sendSignal({ type: 'bitrate', kbps: 800 });
      await eventually(
        () =>
          session()?.congestion?.capKbps === 800 && (session()?.congestion?.targetKbps ?? Infinity) <= 800,
        5_000,
        'target under the cap',
      );
      await player.waitFor(
        () => qualities(player.messages).some((q) => q.capKbps === 800 && q.targetKbps <= 800),
        5_000,
        'a quality message with the cap',
      );
      const before = player.stamps.length;
      await player.waitFor(() => player.stamps.length > before + 20, 10_000, 'frames under the cap');

      // Auto lifts it.
      player.sendSignal({ type: 'bitrate', kbps: 100_000 });
      await eventually(() => session()?.congestion?.capKbps === null, 5_000, 'cap lifted');
      const frames = player.stamps.map((stamp) => stamp.frame);
      for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThan(frames[i - 1] ?? -1);
      expect(player.framesIncomplete).toBe(0);
    } finally {
      await player.close();
    }
  });

  it('a player without transport-cc gets the fixed bitrate its menu sets', async () => {
    const player = connectPlayer(edge, 'latency-probe');
    try {
      await player.waitFor(() => player.framesReceived > 3, 15_000, 'frames');
      const sessionId = player.session?.sessionId;
      const session = () => edge.stats().sessions.find((s) => s.sessionId === sessionId);
      expect(session()?.congestion).toBeUndefined();
      player.sendSignal({ type: 'bitrate', kbps: 2500 });
      await eventually(() => session()?.bitrateKbps === 2500, 5_000, 'bitrate change');
      expect(qualities(player.messages)).toEqual([]);
    } finally {
      await player.close();
    }
  });
});
