import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { breakoutGame } from '../../edge/games/breakout.js';
import { renderThumbnail } from '../../edge/games/renderThumbnail.js';
import { stampHeight } from '../../protocol/frameStamp.js';

// The catalogue shows each built-in game as a real frame of it: the edge runs the game off-line for a
// few frames and returns its picture as a PNG.

/** Decodes the PNGs encodePng writes (8-bit RGB, filter 0 on every row). */
function decodePng(png: Buffer): { width: number; height: number; pixel(x: number, y: number): number[] } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect([body[8], body[9]]).toEqual([8, 2]);
    } else if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  expect(raw.length).toBe((width * 3 + 1) * height);
  return {
    width,
    height,
    pixel: (x, y) => [...raw.subarray(y * (width * 3 + 1) + 1 + x * 3, y * (width * 3 + 1) + 4 + x * 3)],
  };
}

describe('renderThumbnail', () => {
  it("renders Breakout's real first frames: dark field, the brick wall's colours, the paddle", async () => {
    const png = (await renderThumbnail(breakoutGame('0'))) as Buffer;
    const image = decodePng(png);
    // 640 wide at the game's 16:9, less the time-code strip sessions stamp at the top.
    expect(image.width).toBe(640);
    expect(image.height).toBe(360 - stampHeight(640));
    const [r, g, b] = image.pixel(5, 250);
    expect(Math.max(r ?? 0, g ?? 0, b ?? 0)).toBeLessThan(60); // background
    // The wall's top row is red, its bottom row purple; the paddle near the bottom is white.
    const colours = new Set<string>();
    for (let y = 0; y < image.height; y += 2) {
      const [pr = 0, pg = 0, pb = 0] = image.pixel(image.width / 2 + 17, y);
      if (pr > 180 && pg < 110 && pb < 110) colours.add('red');
      if (pb > 180 && pr > 120 && pg < 140) colours.add('purple');
      if (pr > 220 && pg > 220 && pb > 220) colours.add('white');
    }
    expect([...colours].sort()).toEqual(['purple', 'red', 'white']);
  });
});
