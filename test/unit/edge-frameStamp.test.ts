import { describe, expect, it } from 'vitest';
import {
  type FrameStamp,
  readFrameStamp,
  readFrameStampLuma,
  stampBlockSize,
  stampHeight,
  writeFrameStamp,
  writeFrameStampRgba,
  type YuvPlanes,
} from '../../protocol/frameStamp.js';

function i420(width: number, height: number, fill = 60): YuvPlanes {
  return {
    width,
    height,
    y: new Uint8Array(width * height).fill(fill),
    u: new Uint8Array((width * height) / 4).fill(90),
    v: new Uint8Array((width * height) / 4).fill(200),
    strideY: width,
    strideU: width / 2,
    strideV: width / 2,
  };
}

/** What a browser does: limited-range BT.601 YUV → RGBA. */
function toRgba(planes: YuvPlanes): Uint8ClampedArray {
  const { width, height } = planes;
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let row = 0; row < height; row++) {
    for (let col = 0; col < width; col++) {
      const y = (planes.y[row * planes.strideY + col] ?? 0) - 16;
      const u = (planes.u[(row >> 1) * planes.strideU + (col >> 1)] ?? 0) - 128;
      const v = (planes.v[(row >> 1) * planes.strideV + (col >> 1)] ?? 0) - 128;
      const p = (row * width + col) * 4;
      rgba[p] = 1.164 * y + 1.596 * v;
      rgba[p + 1] = 1.164 * y - 0.392 * u - 0.813 * v;
      rgba[p + 2] = 1.164 * y + 2.017 * u;
      rgba[p + 3] = 255;
    }
  }
  return rgba;
}

const stamp: FrameStamp = { frame: 0xdead_beef, captureTimeMs: 1_795_675_387_720, inputSeq: 4_000_000_123 };

describe('frame stamps', () => {
  it('scales blocks with the width (20 px at 1280)', () => {
    expect(stampBlockSize(1280)).toBe(20);
    expect(stampHeight(1280)).toBe(40);
    expect(stampBlockSize(640)).toBe(10);
  });

  it('round-trips through an I420 luma plane', () => {
    const planes = i420(1280, 720);
    writeFrameStamp(planes, stamp);
    expect(readFrameStampLuma(planes.y, planes.strideY, 1280, 720)).toEqual(stamp);
    // Below the strip the picture is untouched.
    expect(planes.y[stampHeight(1280) * 1280 + 5]).toBe(60);
  });

  it('survives the browser YUV → RGB conversion, with colour around it', () => {
    const planes = i420(640, 360);
    writeFrameStamp(planes, { frame: 7, captureTimeMs: 1234, inputSeq: 0 });
    expect(readFrameStamp(toRgba(planes), 640, 360)).toEqual({ frame: 7, captureTimeMs: 1234, inputSeq: 0 });
  });

  it('round-trips through RGBA and tolerates codec-like noise', () => {
    const rgba = new Uint8ClampedArray(1280 * 720 * 4);
    writeFrameStampRgba(rgba, 1280, 720, stamp);
    let seed = 1;
    for (let i = 0; i < rgba.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      if ((i & 3) !== 3) rgba[i] = (rgba[i] ?? 0) + ((seed % 61) - 30);
    }
    expect(readFrameStamp(rgba, 1280, 720)).toEqual(stamp);
  });

  it('rejects frames without a stamp or with a corrupted one', () => {
    expect(readFrameStampLuma(new Uint8Array(1280 * 720).fill(16), 1280, 1280, 720)).toBeNull();
    expect(readFrameStampLuma(new Uint8Array(1280 * 720).fill(235), 1280, 1280, 720)).toBeNull();
    const planes = i420(1280, 720);
    writeFrameStamp(planes, stamp);
    // Flip one block (bit 40) in both rows of its pixels.
    const size = stampBlockSize(1280);
    for (let line = 0; line < size; line++) {
      const start = line * 1280 + 40 * size;
      const value = planes.y[start] === 16 ? 235 : 16;
      planes.y.fill(value, start, start + size);
    }
    expect(readFrameStampLuma(planes.y, 1280, 1280, 720)).toBeNull();
    expect(readFrameStamp(new Uint8ClampedArray(16), 1280, 720)).toBeNull();
    expect(readFrameStamp(new Uint8ClampedArray(100 * 100 * 4), 100, 100)).toBeNull();
  });
});
