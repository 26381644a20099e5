import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { H264Encoder } from '../../edge/media/H264Encoder.js';
import { connectPlayer, eventually, startTestEdge } from './edge-support.js';

/** How long an encoder for 640×360 takes to open here: long enough to see what the stream does meanwhile. */
const SLOW_OPEN_MS = 1500;

let server: EdgeServer;
let edge: Edge;

beforeAll(async () => {
  // Real x264 encoders; the 640×360 one opens late, as an encoder on a loaded machine can.
  server = await startTestEdge({}, async (options) => {
    if (options.width === 640) await new Promise((resolve) => setTimeout(resolve, SLOW_OPEN_MS));
    return H264Encoder.open(options);
  });
  edge = server.edge;
});

afterAll(async () => {
  await server?.close();
});

describe('quality switches without a gap in the picture', () => {
  it('a resize keeps frames of the old size coming while the new encoder opens, then switches', async () => {
    const sizes: string[] = [];
    const player = connectPlayer(edge, 'latency-probe', {
      decode: true,
      onDecodedFrame: (_luma, _stride, width, height) => sizes.push(`${width}x${height}`),
    });
    try {
      await player.waitFor(() => player.stamps.length > 5, 15_000, 'first frames');
      const sent = sizes.length;
      player.sendSignal({ type: 'resize', width: 640, height: 360 });
      await player.waitFor(
        () => sizes.slice(sent).filter((size) => size === '640x360').length > 5,
        15_000,
        'frames of the new size',
      );
      const after = sizes.slice(sent);
      const switched = after.indexOf('640x360');
      // 1.5 s of opening is ~90 frame slots at 60 fps: the old encoder went on through them (before,
      // every slot was skipped until the new encoder was there), and once switched the size stays.
      expect(switched).toBeGreaterThan(20);
      expect(after.slice(0, switched).every((size) => size === '1280x720')).toBe(true);
      expect(after.slice(switched).every((size) => size === '640x360')).toBe(true);
      const frames = player.stamps.map((stamp) => stamp.frame);
      for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThan(frames[i - 1] ?? -1);
    } finally {
      await player.close();
    }
  });

  it('a frame-rate step of the ladder keeps the encoder: no re-open, frames keep coming at the same size', async () => {
    const sizes: string[] = [];
    const player = connectPlayer(edge, 'stress', {
      decode: true,
      transportCc: true,
      onDecodedFrame: (_luma, _stride, width, height) => {
        const size = `${width}x${height}`;
        if (sizes.at(-1) !== size) sizes.push(size);
      },
    });
    try {
      await player.waitFor(() => player.stamps.length > 5, 20_000, 'first frames');
      const sessionId = player.session?.sessionId;
      const congestion = () => edge.stats().sessions.find((s) => s.sessionId === sessionId)?.congestion;
      // A 1 Mbit/s cap: the stress scene needs far more, the ladder goes to the smallest size at 60 fps.
      player.sendSignal({ type: 'bitrate', kbps: 1000 });
      await eventually(
        () => congestion()?.height === 270 && congestion()?.fps === 60,
        30_000,
        '480×270 at 60 fps',
      );
      await player.waitFor(() => sizes.at(-1) === '480x270', 10_000, 'decoded 480×270');
      const before = congestion();
      const decoded = player.stamps.length;
      // The lowest cap: only the frame rate is left to lower.
      player.sendSignal({ type: 'bitrate', kbps: 300 });
      await eventually(() => congestion()?.fps === 30, 30_000, '480×270 at 30 fps');
      await player.waitFor(() => player.stamps.length > decoded + 30, 15_000, 'frames at 30 fps');
      const after = congestion();
      expect(after?.height).toBe(270);
      expect(after?.rungChanges).toBe((before?.rungChanges ?? 0) + 1);
      // The step skipped frames on the running encoder: no encoder opened, no new size decoded.
      expect(after?.reopens).toBe(before?.reopens);
      expect(sizes.at(-1)).toBe('480x270');
      // Every size change was one encoder (the ladder's steps down to 480×270).
      expect(sizes.length - 1).toBe(after?.reopens);
    } finally {
      await player.close();
    }
  });
});
