import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { connectPlayer, startTestEdge } from './edge-support.js';

// Frame stamps are opt-in per session: a player sees no time-code strip in any game unless it asks
// (the page's latency overlay, a benchmark) with the `stamps` message. Frames are decoded in Node and
// their top rows read with protocol/frameStamp.ts's reader.
describe('frame stamps only when the session asks for them', () => {
  let server: EdgeServer;

  beforeAll(async () => {
    server = await startTestEdge();
  });

  afterAll(async () => {
    await server?.close();
  });

  it('Breakout without the request: decoded frames carry no stamp strip', async () => {
    let decoded = 0;
    const player = connectPlayer(server.edge, 'breakout', {
      decode: true,
      stamps: false,
      onDecodedFrame: () => decoded++,
    });
    try {
      await player.waitFor(() => decoded >= 45, 20_000, '45 decoded frames');
      expect(player.stamps).toEqual([]);
    } finally {
      await player.close();
    }
  });

  it('asked for from the start, every frame is stamped; turned off and on while playing, the strip follows', async () => {
    let decoded = 0;
    const player = connectPlayer(server.edge, 'breakout', {
      decode: true,
      stamps: true,
      onDecodedFrame: () => decoded++,
    });
    try {
      await player.waitFor(() => decoded >= 20, 20_000, '20 decoded frames');
      // Asked for before the answer: the first frame on carries one.
      expect(player.stamps[0]?.frame).toBe(0);
      expect(player.stamps.length).toBe(decoded);
      expect(player.stamps[5]?.captureTimeMs).toBeGreaterThan(Date.now() - 60_000);

      player.sendSignal({ type: 'stamps', on: false });
      const decodedAtOff = decoded;
      // A few frames already in the encoder may still carry one; then none do.
      await player.waitFor(() => decoded >= decodedAtOff + 10, 20_000, '10 more frames');
      const settled = player.stamps.length;
      const decodedAtSettle = decoded;
      await player.waitFor(() => decoded >= decodedAtSettle + 30, 20_000, '30 frames with stamps off');
      expect(player.stamps.length).toBe(settled);

      player.sendSignal({ type: 'stamps', on: true });
      await player.waitFor(() => player.stamps.length >= settled + 10, 20_000, 'stamps again');
    } finally {
      await player.close();
    }
  });
});
