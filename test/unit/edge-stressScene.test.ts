import { describe, expect, it } from 'vitest';
import { StressScene, stressSceneGame } from '../../edge/games/stressScene.js';
import type { YuvPlanes } from '../../protocol/frameStamp.js';

function planes(width: number, height: number): YuvPlanes {
  return {
    width,
    height,
    y: new Uint8Array(width * height),
    u: new Uint8Array((width / 2) * (height / 2)),
    v: new Uint8Array((width / 2) * (height / 2)),
    strideY: width,
    strideU: width / 2,
    strideV: width / 2,
  };
}

describe('stress scene', () => {
  it('is a 720p60 game in the catalogue shape', () => {
    const game = stressSceneGame('0');
    expect(game.info).toMatchObject({ id: 'stress', width: 1280, height: 720, fps: 60 });
  });

  it('changes almost every pixel from one frame to the next, with detail inside each frame', () => {
    const scene = new StressScene({ width: 1280, height: 720, nowMs: 0, wallClock: () => 0 });
    const a = planes(1280, 720);
    const b = planes(1280, 720);
    scene.renderFrame(a, 1000);
    scene.renderFrame(b, 1000 + 1000 / 60);
    let changed = 0;
    let edges = 0;
    for (let i = 1; i < a.y.length; i++) {
      if (Math.abs((a.y[i] ?? 0) - (b.y[i] ?? 0)) > 4) changed++;
      if (Math.abs((a.y[i] ?? 0) - (a.y[i - 1] ?? 0)) > 8) edges++;
    }
    expect(changed / a.y.length).toBeGreaterThan(0.5);
    expect(edges / a.y.length).toBeGreaterThan(0.2);
    // Same time, same picture: runs are comparable.
    const again = new StressScene({ width: 1280, height: 720, nowMs: 0, wallClock: () => 0 });
    const c = planes(1280, 720);
    again.renderFrame(c, 1000);
    expect(Buffer.compare(Buffer.from(a.y), Buffer.from(c.y))).toBe(0);
  });

  it('draws at a smaller size after a resize, inside the frame', () => {
    const scene = new StressScene({ width: 1280, height: 720, nowMs: 0, wallClock: () => 0 });
    scene.resize(640, 360);
    const small = planes(640, 360);
    expect(() => scene.renderFrame(small, 500)).not.toThrow();
    expect(small.y.some((value) => value > 16)).toBe(true);
  });
});
