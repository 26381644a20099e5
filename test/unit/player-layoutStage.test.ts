import { describe, expect, it } from 'vitest';
import { type Box, layoutStage } from '../../player/src/layoutStage.js';

// Where the play view puts the picture, the side panel (stats, prompts, bill) and the on-screen pad.

const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const aspect = 1280 / 680; // Breakout with its stamp strip cropped
const pad = { height: 90, leftWidth: 160, rightWidth: 100 };
const stats = { width: 200, height: 130 };

describe('layoutStage', () => {
  it('upright phone: picture full width at the top, side panel under it, pad at the bottom, nothing overlapping', () => {
    const layout = layoutStage({ stage: { width: 390, height: 792 }, aspect, pad, side: stats });
    expect(layout.mode).toBe('below');
    expect(layout.screen).toMatchObject({ x: 0, y: 0, width: 390 });
    expect(layout.padOverScreen).toBe(false);
    const side = layout.side as Box;
    expect(side.y).toBeGreaterThanOrEqual(layout.screen.height);
    for (const corner of [layout.pad?.left, layout.pad?.right] as Box[]) {
      expect(overlap(side, corner)).toBe(false);
      expect(overlap(layout.screen, corner)).toBe(false);
    }
  });

  it('phone held sideways: the picture takes the full height, the pad goes over its corners', () => {
    const layout = layoutStage({ stage: { width: 786, height: 390 }, aspect, pad, side: undefined });
    expect(layout.mode).toBe('beside');
    expect(layout.screen.height).toBe(390);
    expect(layout.padOverScreen).toBe(true);
    // With stats: a column on the right, clear of the picture and of the pad's corner.
    const withStats = layoutStage({ stage: { width: 786, height: 390 }, aspect, pad, side: stats });
    const side = withStats.side as Box;
    expect(overlap(side, withStats.screen)).toBe(false);
    expect(overlap(side, withStats.pad?.right as Box)).toBe(false);
    expect(withStats.screen.x + withStats.screen.width).toBeLessThanOrEqual(side.x);
  });

  it('desktop: the picture centred and as large as the stage allows; stats under it when that costs less', () => {
    const alone = layoutStage({
      stage: { width: 1280, height: 748 },
      aspect,
      pad: undefined,
      side: undefined,
    });
    expect(alone.screen).toEqual({ x: 0, y: 34, width: 1280, height: 680 });
    const withStats = layoutStage({
      stage: { width: 1280, height: 748 },
      aspect,
      pad: undefined,
      side: stats,
    });
    expect(withStats.mode).toBe('below');
    expect(overlap(withStats.side as Box, withStats.screen)).toBe(false);
    expect((withStats.side as Box).y + stats.height).toBeLessThanOrEqual(748);
  });

  it('a side panel taller than the room above the pad is cut to fit (it scrolls)', () => {
    const layout = layoutStage({
      stage: { width: 800, height: 300 },
      aspect,
      pad,
      side: { width: 150, height: 400 },
    });
    expect(layout.mode).toBe('beside');
    expect((layout.side as Box).height).toBe(300 - pad.height - 8);
  });
});
