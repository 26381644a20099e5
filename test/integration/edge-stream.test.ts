import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { keyCodeToId } from '../../protocol/input.js';
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

describe('edge streaming to a werift player in Node', () => {
  it('streams H.264 that decodes, with frame numbers increasing, and Opus audio', async () => {
    const player = connectPlayer(edge, 'latency-probe', { decode: true });
    try {
      await player.waitFor(() => player.stamps.length >= 40, 20_000, '40 decoded stamped frames');
      expect(player.session).toMatchObject({
        gameId: 'latency-probe',
        width: 1280,
        height: 720,
        fps: 60,
        encoder: edge.encoderProbe.selected,
      });
      const frames = player.stamps.map((stamp) => stamp.frame);
      for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThan(frames[i - 1] ?? -1);
      const times = player.stamps.map((stamp) => stamp.captureTimeMs);
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] ?? 0);
      expect(Math.abs((times.at(-1) ?? 0) - Date.now())).toBeLessThan(5_000);
      expect(player.framesIncomplete).toBe(0);
      await player.waitFor(() => player.audioPackets > 10, 5_000, 'audio packets');
      const stats = edge.stats();
      expect(stats.edgeMs.count).toBeGreaterThan(0);
      expect(stats.sessions[0]).toMatchObject({ state: 'streaming', encoder: edge.encoderProbe.selected });
      // A streaming session uses CPU or GPU time: the headroom reported to the matchmaker goes down.
      expect(edge.info().encodeHeadroom).toBeLessThan(1);
      // One keyframe to start, no keyframe storm (a PLI from the receiver may add one).
      expect(stats.sessions[0]?.keyframes).toBeGreaterThanOrEqual(1);
      expect(stats.sessions[0]?.keyframes).toBeLessThanOrEqual(2);
    } finally {
      await player.close();
    }
  });

  it('applies input from the data channel: the stamp reports it and pings are echoed at once', async () => {
    const player = connectPlayer(edge, 'latency-probe', { decode: true });
    try {
      await player.inputOpen;
      await player.waitFor(() => player.stamps.length > 2, 15_000, 'first frames');
      const seq = player.sendInput({ type: 'keyDown', key: keyCodeToId('ArrowRight') });
      await player.waitFor(
        () => player.stamps.some((stamp) => stamp.inputSeq === seq),
        5_000,
        'input in a stamp',
      );
      for (let i = 0; i < 5; i++) player.ping();
      await player.waitFor(() => player.pongs.length === 5, 5_000, 'pongs');
      expect(player.pongs.map((pong) => pong.seq)).toEqual([seq + 1, seq + 2, seq + 3, seq + 4, seq + 5]);
      player.sendSignal({ type: 'ping', t: 42 });
      await player.waitFor(
        () => player.messages.some((m) => m.type === 'pong' && m.t === 42),
        5_000,
        'signal pong',
      );
    } finally {
      await player.close();
    }
  });

  it('Breakout: holding ArrowLeft moves the paddle in the decoded picture', async () => {
    let paddleX: number | undefined;
    const player = connectPlayer(edge, 'breakout', {
      decode: true,
      onDecodedFrame: (luma, stride, width, height) => {
        // The paddle is the only near-white run on its row (y = height - 0.05 × width + a bit).
        const row = Math.round(height - 0.05 * width + 0.01 * width);
        let sum = 0;
        let count = 0;
        for (let x = 0; x < width; x++) {
          if ((luma[row * stride + x] ?? 0) > 200) {
            sum += x;
            count++;
          }
        }
        if (count > 20) paddleX = sum / count / width;
      },
    });
    try {
      await player.inputOpen;
      await player.waitFor(() => paddleX !== undefined, 15_000, 'the paddle');
      const start = paddleX ?? 0;
      expect(start).toBeCloseTo(0.5, 1);
      player.sendInput({ type: 'keyDown', key: keyCodeToId('ArrowLeft') });
      await player.waitFor(() => (paddleX ?? 1) < start - 0.2, 5_000, 'paddle moving left');
      player.sendInput({ type: 'keyUp', key: keyCodeToId('ArrowLeft') });
      // Gamepad stick right moves it back.
      player.sendInput({ type: 'gamepad', index: 0, buttons: 0, axes: [1, 0] });
      await player.waitFor(() => (paddleX ?? 0) > start, 5_000, 'paddle moving right with the gamepad');
    } finally {
      await player.close();
    }
  });

  it('keeps a refreshed held key held, and releases one whose keyUp was lost', async () => {
    const player = connectPlayer(edge, 'breakout');
    const session = () => edge.stats().sessions.find((s) => s.gameId === 'breakout');
    try {
      await player.inputOpen;
      const key = keyCodeToId('ArrowLeft');
      player.sendInput({ type: 'keyDown', key });
      // Refreshed for longer than the edge's release time: the key stays held.
      await player.waitFor(() => (session()?.keyRefreshes ?? 0) >= 6, 10_000, 'six held-key refreshes');
      expect(session()?.staleKeysReleased).toBe(0);
      player.sendInput({ type: 'keyUp', key });
      // Held again, and this time the keyUp is lost: the edge releases the key on its own, once.
      player.sendInput({ type: 'keyDown', key });
      player.loseKeyUp(key);
      await player.waitFor(() => session()?.staleKeysReleased === 1, 10_000, 'the edge to release the key');
      expect(session()?.staleKeysReleased).toBe(1);
    } finally {
      await player.close();
    }
  });

  it('obeys keyframe, bitrate and resize requests', async () => {
    const sizes: string[] = [];
    const player = connectPlayer(edge, 'latency-probe', {
      decode: true,
      onDecodedFrame: (_luma, _stride, width, height) => {
        const size = `${width}x${height}`;
        if (sizes.at(-1) !== size) sizes.push(size);
      },
    });
    try {
      await player.waitFor(() => player.stamps.length > 2, 15_000, 'first frames');
      const sessionId = player.session?.sessionId;
      const session = () => edge.stats().sessions.find((s) => s.sessionId === sessionId);
      const keyframes = session()?.keyframes ?? 0;
      player.sendSignal({ type: 'keyframe' });
      await eventually(() => (session()?.keyframes ?? 0) > keyframes, 5_000, 'a keyframe');
      player.sendSignal({ type: 'bitrate', kbps: 2500 });
      await eventually(() => session()?.bitrateKbps === 2500, 5_000, 'bitrate change');
      player.sendSignal({ type: 'bitrate', kbps: 50_000 });
      await eventually(
        () => session()?.bitrateKbps === edge.config.maxVideoBitrateKbps,
        5_000,
        'clamped bitrate',
      );
      // "Auto" (the page's default cap) goes back to the edge's start bitrate.
      player.sendSignal({ type: 'bitrate', kbps: 100_000 });
      await eventually(() => session()?.bitrateKbps === edge.config.videoBitrateKbps, 5_000, 'auto bitrate');
      player.sendSignal({ type: 'resize', width: 640, height: 360 });
      const before = player.stamps.length;
      await player.waitFor(
        () => sizes.at(-1) === '640x360' && player.stamps.length > before + 3,
        10_000,
        'resized frames',
      );
      expect(sizes).toEqual(['1280x720', '640x360']);
    } finally {
      await player.close();
    }
  });

  it('ends the session on an end message and frees its slot', async () => {
    const ended: string[] = [];
    const onEnded = ({ sessionId }: { sessionId: string }) => ended.push(sessionId);
    edge.on('sessionEnded', onEnded);
    const player = connectPlayer(edge);
    try {
      await player.waitFor(() => player.framesReceived > 3, 15_000, 'frames');
      player.sendSignal({ type: 'end' });
      const { code } = await player.closed;
      expect(code).toBe(1000);
      expect(player.messages.at(-1)).toMatchObject({ type: 'ended' });
      await eventually(() => edge.info().activeSessions === 0, 5_000, 'slot freed');
      expect(ended).toContain(player.session?.sessionId);
    } finally {
      edge.off('sessionEnded', onEnded);
      await player.close();
    }
  });
});
