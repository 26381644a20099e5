import type { YuvPlanes } from '../../protocol/frameStamp.js';
import { stampHeight } from '../../protocol/frameStamp.js';
import type { InputMessage } from '../../protocol/input.js';
import { BuiltInGameRuntime } from './BuiltInGameRuntime.js';
import type { CreateGameParameters, GameDefinition } from './GameRuntime.js';
import type { SoftwareGame } from './SoftwareGame.js';
import { SoundSynth } from './SoundSynth.js';
import { rgbToYuv, YuvPainter } from './YuvPainter.js';

/** Texture edge (power of two so wrapping is a mask). */
const TEXTURE = 1024;
const MASK = TEXTURE - 1;
const CHROMA_TEXTURE = 512;
const CHROMA_MASK = CHROMA_TEXTURE - 1;
const SPRITES = 24;

/** Deterministic xorshift32, so every run encodes the same pictures. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

/** Tileable value noise with a few octaves plus fine grain: detail at every scale. */
function detailTexture(size: number, seed: number, low: number, high: number, grain: number): Uint8Array {
  const next = random(seed);
  const texture = new Float32Array(size * size);
  for (let cell = size / 8, amplitude = 1; cell >= 2; cell /= 2, amplitude *= 0.6) {
    const cells = size / cell;
    const lattice = new Float32Array(cells * cells).map(() => next());
    for (let y = 0; y < size; y++) {
      const gy = y / cell;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      const sy = fy * fy * (3 - 2 * fy);
      const r0 = (y0 % cells) * cells;
      const r1 = ((y0 + 1) % cells) * cells;
      for (let x = 0; x < size; x++) {
        const gx = x / cell;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const sx = fx * fx * (3 - 2 * fx);
        const c0 = x0 % cells;
        const c1 = (x0 + 1) % cells;
        const top = (lattice[r0 + c0] ?? 0) * (1 - sx) + (lattice[r0 + c1] ?? 0) * sx;
        const bottom = (lattice[r1 + c0] ?? 0) * (1 - sx) + (lattice[r1 + c1] ?? 0) * sx;
        texture[y * size + x] = (texture[y * size + x] ?? 0) + amplitude * (top * (1 - sy) + bottom * sy);
      }
    }
  }
  const out = new Uint8Array(size * size);
  for (let i = 0; i < out.length; i++) {
    const value = ((texture[i] ?? 0) / 2.2) * (high - low) + low + (next() - 0.5) * grain;
    out[i] = Math.max(low, Math.min(high, Math.round(value)));
  }
  return out;
}

let textures: { luma: Uint8Array; u: Uint8Array; v: Uint8Array } | undefined;

/** The scene's textures, made once per process (≈ 0.1 s of work) and shared read-only. */
function sharedTextures(): { luma: Uint8Array; u: Uint8Array; v: Uint8Array } {
  textures ??= {
    luma: detailTexture(TEXTURE, 7, 16, 235, 18),
    u: detailTexture(CHROMA_TEXTURE, 11, 70, 186, 10),
    v: detailTexture(CHROMA_TEXTURE, 13, 70, 186, 10),
  };
  return textures;
}

interface Sprite {
  x: number;
  y: number;
  vx: number;
  vy: number;
  size: number;
  color: ReturnType<typeof rgbToYuv>;
}

/**
 * A stress scene for congestion control: a detailed texture (noise at every scale plus grain) that
 * scrolls with a per-row wobble, so block motion search cannot predict it, under two dozen bouncing
 * blocks, a sweeping bar and a frame counter. x264 needs well over 10 Mbit/s at 720p60 for it to look
 * clean and shows visible blocking at 3 Mbit/s, so bandwidth adaptation is easy to see and measure.
 * Input: arrow keys change the scroll direction (so input-to-photon still works).
 */
export class StressScene implements SoftwareGame {
  #painter: YuvPainter | undefined;
  readonly #synth = new SoundSynth();
  readonly #startMs: number;
  readonly #luma: Uint8Array;
  readonly #u: Uint8Array;
  readonly #v: Uint8Array;
  readonly #sprites: Sprite[] = [];
  #frames = 0;
  #direction = 1;
  #lastMs: number;

  constructor(parameters: CreateGameParameters) {
    this.#startMs = parameters.nowMs;
    this.#lastMs = parameters.nowMs;
    const shared = sharedTextures();
    this.#luma = shared.luma;
    this.#u = shared.u;
    this.#v = shared.v;
    const next = random(29);
    for (let i = 0; i < SPRITES; i++) {
      this.#sprites.push({
        x: next(),
        y: next(),
        vx: (next() - 0.5) * 0.6,
        vy: (next() - 0.5) * 0.6,
        size: 0.03 + next() * 0.08,
        color: rgbToYuv(40 + next() * 215, 40 + next() * 215, 40 + next() * 215),
      });
    }
  }

  renderFrame(target: YuvPlanes, nowMs: number): void {
    if (!this.#painter || this.#painter.target !== target) this.#painter = new YuvPainter(target);
    const dt = Math.min(0.25, Math.max(0, (nowMs - this.#lastMs) / 1000));
    this.#lastMs = nowMs;
    this.#frames++;
    const t = (nowMs - this.#startMs) / 1000;
    const w = target.width;
    const h = target.height;
    // Background: the texture scrolls diagonally; each row is shifted by its own wobble.
    const scrollX = Math.floor(t * 240 * this.#direction);
    const scrollY = Math.floor(t * 90);
    for (let row = 0; row < h; row++) {
      const source = ((row + scrollY) & MASK) * TEXTURE;
      const shift = (scrollX + Math.round(14 * Math.sin(row / 9 + t * 7))) & MASK;
      StressScene.#copyWrapped(this.#luma, source, shift, TEXTURE, target.y, row * target.strideY, w);
    }
    const cw = w >> 1;
    const ch = h >> 1;
    for (let row = 0; row < ch; row++) {
      const source = ((row + (scrollY >> 1)) & CHROMA_MASK) * CHROMA_TEXTURE;
      const shift = ((scrollX >> 1) + Math.round(7 * Math.sin(row / 5 + t * 7))) & CHROMA_MASK;
      StressScene.#copyWrapped(this.#u, source, shift, CHROMA_TEXTURE, target.u, row * target.strideU, cw);
      StressScene.#copyWrapped(this.#v, source, shift, CHROMA_TEXTURE, target.v, row * target.strideV, cw);
    }
    const p = this.#painter;
    for (const sprite of this.#sprites) {
      sprite.x += sprite.vx * dt;
      sprite.y += sprite.vy * dt;
      if (sprite.x < 0 || sprite.x > 1) sprite.vx = -sprite.vx;
      if (sprite.y < 0 || sprite.y > 1) sprite.vy = -sprite.vy;
      sprite.x = Math.min(1, Math.max(0, sprite.x));
      sprite.y = Math.min(1, Math.max(0, sprite.y));
      const size = sprite.size * h;
      p.fillRect(sprite.x * (w - size), sprite.y * (h - size), size, size, sprite.color);
    }
    const top = stampHeight(w) + 8;
    p.fillRect(((t * 0.5) % 1) * w, top, w * 0.02, h - top, { y: 235, u: 128, v: 128 });
    p.drawNumber(this.#frames, w * 0.05, top + h * 0.05, h * 0.1, { y: 235, u: 128, v: 128 });
  }

  /** Copies `length` bytes of one texture row starting at column `shift`, wrapping at `size`. */
  static #copyWrapped(
    texture: Uint8Array,
    rowStart: number,
    shift: number,
    size: number,
    out: Uint8Array,
    outStart: number,
    length: number,
  ): void {
    let written = 0;
    let column = shift;
    while (written < length) {
      const run = Math.min(size - column, length - written);
      out.set(texture.subarray(rowStart + column, rowStart + column + run), outStart + written);
      written += run;
      column = 0;
    }
  }

  input(message: InputMessage): void {
    if (message.type === 'keyDown') {
      this.#direction = -this.#direction;
      this.#synth.play({ frequency: 700, durationMs: 40, waveform: 'square', volume: 0.2 });
    }
  }

  mixAudio(out: Int16Array): void {
    this.#synth.mix(out);
  }

  resize(_width: number, _height: number): void {
    this.#painter = undefined;
  }

  close(): void {}
}

/** The built-in stress scene, 720p60 (see `StressScene`). */
export function stressSceneGame(pricePerMinute: string): GameDefinition {
  return {
    info: {
      id: 'stress',
      title: 'Stress scene',
      description:
        'A detailed, fast-moving test scene that needs well over 10 Mbit/s at 720p60 to look clean; used to show and measure bandwidth adaptation.',
      width: 1280,
      height: 720,
      fps: 60,
      pricePerMinute,
      input: ['keyboard'],
    },
    create: async (parameters) => new BuiltInGameRuntime(new StressScene(parameters)),
  };
}
