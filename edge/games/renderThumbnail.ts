import { stampHeight, type YuvPlanes } from '../../protocol/frameStamp.js';
import { encodePng } from './encodePng.js';
import type { GameDefinition } from './GameRuntime.js';

/** Options of `renderThumbnail`. */
export interface RenderThumbnailParameters {
  /** Width the game renders at, px (default 640; height follows the game's aspect). */
  width?: number;
  /** Frames simulated before the picture is taken, at the game's fps (default 30: half a second at 60). */
  frames?: number;
}

const clamp = (value: number): number => (value < 0 ? 0 : value > 255 ? 255 : Math.round(value));

/**
 * The catalogue picture of a built-in game: a real frame of it. The game is started off-line, runs
 * `frames` frames at its fps, and its last frame (I420, what the encoder would get) is converted to RGB
 * and returned as a PNG. The strip a session stamps its time code into is left out, as the player
 * leaves it out of the picture it shows. Undefined for a game whose frames are pushed (a captured
 * native game cannot be run off-line here).
 */
export async function renderThumbnail(
  game: GameDefinition,
  parameters: RenderThumbnailParameters = {},
): Promise<Buffer | undefined> {
  const width = (parameters.width ?? 640) & ~1;
  const height = Math.round((width * game.info.height) / game.info.width) & ~1;
  const frames = Math.max(1, parameters.frames ?? 30);
  const chromaWidth = width >> 1;
  const planes: YuvPlanes = {
    width,
    height,
    y: new Uint8Array(width * height),
    u: new Uint8Array(chromaWidth * (height >> 1)),
    v: new Uint8Array(chromaWidth * (height >> 1)),
    strideY: width,
    strideU: chromaWidth,
    strideV: chromaWidth,
  };
  const runtime = await game.create({ width, height, nowMs: 0, wallClock: () => 0 });
  try {
    const source = runtime.frames;
    if (source.delivery !== 'pull') return undefined;
    for (let frame = 1; frame <= frames; frame++) source.renderFrame(planes, (frame * 1000) / game.info.fps);
  } finally {
    await runtime.close();
  }
  const top = Math.min(height - 2, stampHeight(width)) & ~1;
  const outHeight = height - top;
  const rgb = new Uint8Array(width * outHeight * 3);
  // BT.601 limited range → sRGB.
  for (let row = 0; row < outHeight; row++) {
    const sourceRow = row + top;
    for (let col = 0; col < width; col++) {
      const y = 1.164 * ((planes.y[sourceRow * width + col] ?? 16) - 16);
      const chroma = (sourceRow >> 1) * chromaWidth + (col >> 1);
      const u = (planes.u[chroma] ?? 128) - 128;
      const v = (planes.v[chroma] ?? 128) - 128;
      const out = (row * width + col) * 3;
      rgb[out] = clamp(y + 1.596 * v);
      rgb[out + 1] = clamp(y - 0.392 * u - 0.813 * v);
      rgb[out + 2] = clamp(y + 2.017 * u);
    }
  }
  return encodePng(rgb, width, outHeight);
}
