/**
 * Frame stamps: a frame number, the capture time and the last applied input sequence, written as
 * big black/white blocks along the top of a video frame, so that a receiver can read them back out of
 * decoded pixels (a browser through a canvas, Node from a decoded YUV frame) and measure glass-to-glass
 * and input-to-photon latency.
 *
 * Layout: `STAMP_COLUMNS` × `STAMP_ROWS` square blocks of `stampBlockSize(width)` px (20 px at 1280
 * wide), starting at the top-left corner; 128 bits, most significant first, row by row:
 * frame u32 | captureTimeMs u48 (Date.now()) | inputSeq u32 | CRC-16/CCITT-FALSE of the 14 bytes before.
 * White block = 1. Readers threshold luma at mid-grey in each block's centre; a stamp whose checksum
 * does not match is rejected (null), so misreads are never reported as values.
 */

export interface FrameStamp {
  /** Frame number (u32, wraps). */
  frame: number;
  /** Capture time, unix ms (Date.now() when the frame was made). */
  captureTimeMs: number;
  /** Sequence number of the last input message the game applied before this frame (u32), 0 if none. */
  inputSeq: number;
}

/** Blocks per row. */
export const STAMP_COLUMNS = 64;
/** Rows of blocks. */
export const STAMP_ROWS = 2;
const STAMP_BYTES = 16;

/** Block edge in px for a frame `width` px wide (at least 4). */
export function stampBlockSize(width: number): number {
  return Math.max(4, Math.floor(width / STAMP_COLUMNS));
}

/** Height in px of the stamp strip at the top of a frame `width` px wide. */
export function stampHeight(width: number): number {
  return STAMP_ROWS * stampBlockSize(width);
}

/** Planar YUV 4:2:0 target (I420) for `writeFrameStamp`. */
export interface YuvPlanes {
  width: number;
  height: number;
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
  strideY: number;
  strideU: number;
  strideV: number;
}

// Limited-range luma for black and white (what H.264 encoders and browsers expect by default).
const Y_BLACK = 16;
const Y_WHITE = 235;

const scratch = new Uint8Array(STAMP_BYTES);

function packStamp(stamp: FrameStamp, out: Uint8Array): void {
  const frame = stamp.frame >>> 0;
  const time = Math.max(0, Math.floor(stamp.captureTimeMs));
  const timeHigh = Math.floor(time / 0x1_0000_0000) & 0xffff;
  const timeLow = time >>> 0;
  const seq = stamp.inputSeq >>> 0;
  out[0] = frame >>> 24;
  out[1] = (frame >>> 16) & 0xff;
  out[2] = (frame >>> 8) & 0xff;
  out[3] = frame & 0xff;
  out[4] = timeHigh >>> 8;
  out[5] = timeHigh & 0xff;
  out[6] = timeLow >>> 24;
  out[7] = (timeLow >>> 16) & 0xff;
  out[8] = (timeLow >>> 8) & 0xff;
  out[9] = timeLow & 0xff;
  out[10] = seq >>> 24;
  out[11] = (seq >>> 16) & 0xff;
  out[12] = (seq >>> 8) & 0xff;
  out[13] = seq & 0xff;
  const crc = crc16(out, 14);
  out[14] = crc >>> 8;
  out[15] = crc & 0xff;
}

function unpackStamp(bytes: Uint8Array): FrameStamp | null {
  const crc = crc16(bytes, 14);
  if ((bytes[14] ?? 0) !== crc >>> 8 || (bytes[15] ?? 0) !== (crc & 0xff)) return null;
  const b = (i: number): number => bytes[i] ?? 0;
  const frame = ((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)) >>> 0;
  const timeHigh = (b(4) << 8) | b(5);
  const timeLow = ((b(6) << 24) | (b(7) << 16) | (b(8) << 8) | b(9)) >>> 0;
  const inputSeq = ((b(10) << 24) | (b(11) << 16) | (b(12) << 8) | b(13)) >>> 0;
  return { frame, captureTimeMs: timeHigh * 0x1_0000_0000 + timeLow, inputSeq };
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the first `length` bytes. */
function crc16(bytes: Uint8Array, length: number): number {
  let crc = 0xffff;
  for (let i = 0; i < length; i++) {
    crc ^= (bytes[i] ?? 0) << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function bitAt(bytes: Uint8Array, index: number): number {
  return ((bytes[index >>> 3] ?? 0) >>> (7 - (index & 7))) & 1;
}

/**
 * Stamps `stamp` into the top strip of an I420 frame (luma blocks, neutral chroma). No allocation.
 * Frames narrower than STAMP_COLUMNS × 4 px or shorter than the strip are left untouched.
 */
export function writeFrameStamp(target: YuvPlanes, stamp: FrameStamp): void {
  const { width, height } = target;
  const size = stampBlockSize(width);
  if (size * STAMP_COLUMNS > width || size * STAMP_ROWS > height) return;
  packStamp(stamp, scratch);
  for (let row = 0; row < STAMP_ROWS; row++) {
    for (let line = 0; line < size; line++) {
      const base = (row * size + line) * target.strideY;
      for (let col = 0; col < STAMP_COLUMNS; col++) {
        const value = bitAt(scratch, row * STAMP_COLUMNS + col) ? Y_WHITE : Y_BLACK;
        const start = base + col * size;
        target.y.fill(value, start, start + size);
      }
    }
  }
  const chromaWidth = (size * STAMP_COLUMNS) >> 1;
  const chromaLines = (size * STAMP_ROWS + 1) >> 1;
  for (let line = 0; line < chromaLines; line++) {
    target.u.fill(128, line * target.strideU, line * target.strideU + chromaWidth);
    target.v.fill(128, line * target.strideV, line * target.strideV + chromaWidth);
  }
}

/** Stamps `stamp` into the top strip of an RGBA frame (black/white, alpha 255). No allocation. */
export function writeFrameStampRgba(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  stamp: FrameStamp,
): void {
  const size = stampBlockSize(width);
  if (size * STAMP_COLUMNS > width || size * STAMP_ROWS > height) return;
  packStamp(stamp, scratch);
  for (let row = 0; row < STAMP_ROWS; row++) {
    for (let line = 0; line < size; line++) {
      const base = (row * size + line) * width * 4;
      for (let col = 0; col < STAMP_COLUMNS; col++) {
        const value = bitAt(scratch, row * STAMP_COLUMNS + col) ? 255 : 0;
        const start = base + col * size * 4;
        for (let i = 0; i < size; i++) {
          const p = start + i * 4;
          rgba[p] = value;
          rgba[p + 1] = value;
          rgba[p + 2] = value;
          rgba[p + 3] = 255;
        }
      }
    }
  }
}

const readBytes = new Uint8Array(STAMP_BYTES);

/**
 * Reads the stamp bits: a block is 1 when the sum of `sample` (luma, 0..255) at 3×3 points over its inner
 * half, away from the edges codecs blur, exceeds `threshold`. Returns null when the checksum fails.
 */
function readBlocks(
  size: number,
  threshold: number,
  sample: (x: number, y: number) => number,
): FrameStamp | null {
  readBytes.fill(0);
  const q = size >> 2;
  for (let row = 0; row < STAMP_ROWS; row++) {
    for (let col = 0; col < STAMP_COLUMNS; col++) {
      const x0 = col * size;
      const y0 = row * size;
      let sum = 0;
      for (let sy = 0; sy < 3; sy++) {
        const yy = y0 + q + ((sy * (size - 2 * q)) >> 1) - (sy === 2 ? 1 : 0);
        for (let sx = 0; sx < 3; sx++) {
          const xx = x0 + q + ((sx * (size - 2 * q)) >> 1) - (sx === 2 ? 1 : 0);
          sum += sample(xx, yy);
        }
      }
      if (sum > threshold) {
        const bit = row * STAMP_COLUMNS + col;
        readBytes[bit >>> 3] = (readBytes[bit >>> 3] ?? 0) | (0x80 >>> (bit & 7));
      }
    }
  }
  return unpackStamp(readBytes);
}

/**
 * Reads a stamp from an RGBA frame (e.g. `getImageData` of a canvas the decoded video was drawn into at
 * its intrinsic size; only the top `stampHeight(width)` rows are read). Returns null when no valid
 * stamp is there.
 */
export function readFrameStamp(
  rgba: Uint8ClampedArray | Uint8Array,
  width: number,
  height: number,
): FrameStamp | null {
  const size = stampBlockSize(width);
  if (size * STAMP_COLUMNS > width || size * STAMP_ROWS > height) return null;
  if (rgba.length < size * STAMP_ROWS * width * 4) return null;
  // Rec. 601 luma of the RGB pixel, 8-bit fixed point; threshold at mid-grey.
  return readBlocks(size, 128 * 9, (x, y) => {
    const p = (y * width + x) * 4;
    return ((rgba[p] ?? 0) * 77 + (rgba[p + 1] ?? 0) * 150 + (rgba[p + 2] ?? 0) * 29) >> 8;
  });
}

/**
 * Reads a stamp from a luma plane (e.g. the Y plane of a decoded I420 frame). Returns null when no
 * valid stamp is there.
 */
export function readFrameStampLuma(
  luma: Uint8Array,
  stride: number,
  width: number,
  height: number,
): FrameStamp | null {
  const size = stampBlockSize(width);
  if (size * STAMP_COLUMNS > width || size * STAMP_ROWS > height) return null;
  if (luma.length < (size * STAMP_ROWS - 1) * stride + width) return null;
  return readBlocks(size, ((Y_BLACK + Y_WHITE) >> 1) * 9, (x, y) => luma[y * stride + x] ?? 0);
}
