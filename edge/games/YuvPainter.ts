import type { YuvPlanes } from '../../protocol/frameStamp.js';

/** A colour in limited-range BT.601 YCbCr, ready for I420 planes. */
export interface YuvColor {
  y: number;
  u: number;
  v: number;
}

/** BT.601 limited-range conversion of an sRGB colour (0..255 each). */
export function rgbToYuv(r: number, g: number, b: number): YuvColor {
  return {
    y: Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b),
    u: Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b),
    v: Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b),
  };
}

/** Software drawing primitives straight into I420 planes; every call clips and allocates nothing. */
export class YuvPainter {
  target: YuvPlanes;

  constructor(target: YuvPlanes) {
    this.target = target;
  }

  /** Fills the whole frame. */
  clear(color: YuvColor): void {
    const t = this.target;
    this.fillRect(0, 0, t.width, t.height, color);
  }

  /** Fills an axis-aligned rectangle (px; rounded to even chroma-aligned edges for clean colour). */
  fillRect(x: number, y: number, w: number, h: number, color: YuvColor): void {
    const t = this.target;
    let x0 = Math.max(0, Math.round(x)) & ~1;
    let y0 = Math.max(0, Math.round(y)) & ~1;
    let x1 = Math.min(t.width, Math.round(x + w));
    let y1 = Math.min(t.height, Math.round(y + h));
    x1 += x1 & 1;
    y1 += y1 & 1;
    x1 = Math.min(t.width, x1);
    y1 = Math.min(t.height, y1);
    if (x1 <= x0 || y1 <= y0) return;
    for (let row = y0; row < y1; row++) {
      const base = row * t.strideY;
      t.y.fill(color.y, base + x0, base + x1);
    }
    x0 >>= 1;
    y0 >>= 1;
    const cx1 = (x1 + 1) >> 1;
    const cy1 = (y1 + 1) >> 1;
    for (let row = y0; row < cy1; row++) {
      t.u.fill(color.u, row * t.strideU + x0, row * t.strideU + cx1);
      t.v.fill(color.v, row * t.strideV + x0, row * t.strideV + cx1);
    }
  }

  /** Fills a disc of radius `r` centred on (cx, cy). */
  fillCircle(cx: number, cy: number, r: number, color: YuvColor): void {
    const top = Math.floor(cy - r);
    const bottom = Math.ceil(cy + r);
    for (let row = top; row < bottom; row += 2) {
      const dy = row + 1 - cy;
      const half = Math.sqrt(Math.max(0, r * r - dy * dy));
      if (half > 0) this.fillRect(cx - half, row, half * 2, 2, color);
    }
  }

  /** Draws decimal digits as seven-segment glyphs `size` px tall; returns the width drawn. */
  drawNumber(value: number, x: number, y: number, size: number, color: YuvColor): number {
    const text = Math.max(0, Math.floor(value)).toString();
    const w = Math.round(size * 0.55);
    const t = Math.max(2, Math.round(size / 8));
    let cursor = x;
    for (let i = 0; i < text.length; i++) {
      const segments = SEGMENTS[text.charCodeAt(i) - 48] ?? 0;
      if (segments & 1) this.fillRect(cursor, y, w, t, color); // top
      if (segments & 2) this.fillRect(cursor + w - t, y, t, size / 2, color); // upper right
      if (segments & 4) this.fillRect(cursor + w - t, y + size / 2, t, size / 2, color); // lower right
      if (segments & 8) this.fillRect(cursor, y + size - t, w, t, color); // bottom
      if (segments & 16) this.fillRect(cursor, y + size / 2, t, size / 2, color); // lower left
      if (segments & 32) this.fillRect(cursor, y, t, size / 2, color); // upper left
      if (segments & 64) this.fillRect(cursor, y + size / 2 - t / 2, w, t, color); // middle
      cursor += w + t * 2;
    }
    return cursor - x;
  }
}

// Seven-segment masks for 0-9 (bits: top, upper right, lower right, bottom, lower left, upper left, middle).
const SEGMENTS = [0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f];
