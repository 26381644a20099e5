import type { YuvPlanes } from '../../protocol/frameStamp.js';
import { stampHeight } from '../../protocol/frameStamp.js';
import { type InputMessage, keyIdToCode } from '../../protocol/input.js';
import { BuiltInGameRuntime } from './BuiltInGameRuntime.js';
import type { CreateGameParameters, GameDefinition } from './GameRuntime.js';
import type { SoftwareGame } from './SoftwareGame.js';
import { SoundSynth } from './SoundSynth.js';
import { rgbToYuv, YuvPainter } from './YuvPainter.js';

const BACKGROUND = rgbToYuv(40, 40, 48);
const BAR = rgbToYuv(90, 200, 255);
const MARKER = rgbToYuv(255, 80, 80);
const FLASH = rgbToYuv(255, 255, 255);
const TEXT = rgbToYuv(220, 220, 220);

/**
 * The latency-probe scene: a sweeping bar (steady motion for the encoder), a frame counter, a marker the
 * player moves (arrows, mouse, touch, gamepad) and a square that flips on every key or button press.
 * Every frame carries the session's frame stamp (frame number, capture time, last input seq), which
 * the player and the benches read back to measure glass-to-glass and input-to-photon latency.
 */
export class LatencyProbe implements SoftwareGame {
  #width: number;
  #height: number;
  #painter: YuvPainter | undefined;
  readonly #synth = new SoundSynth();
  readonly #startMs: number;
  #frames = 0;
  #markerX = 0.5;
  #markerY = 0.5;
  #presses = 0;

  constructor(parameters: CreateGameParameters) {
    this.#width = parameters.width;
    this.#height = parameters.height;
    this.#startMs = parameters.nowMs;
  }

  /** Key and button presses seen so far. */
  get presses(): number {
    return this.#presses;
  }

  renderFrame(target: YuvPlanes, nowMs: number): void {
    if (!this.#painter || this.#painter.target !== target) this.#painter = new YuvPainter(target);
    const p = this.#painter;
    const w = target.width;
    const h = target.height;
    this.#frames++;
    p.clear(BACKGROUND);
    const top = stampHeight(w) + 8;
    const t = (nowMs - this.#startMs) / 1000;
    const barX = ((t * 0.25) % 1) * w;
    p.fillRect(barX, top, w * 0.04, h - top, BAR);
    p.drawNumber(this.#frames, w * 0.05, top + h * 0.05, h * 0.12, TEXT);
    p.fillRect(w * 0.8, top + h * 0.05, h * 0.12, h * 0.12, this.#presses & 1 ? FLASH : BACKGROUND);
    const size = h * 0.06;
    p.fillRect(this.#markerX * w - size / 2, this.#markerY * h - size / 2, size, size, MARKER);
  }

  input(message: InputMessage): void {
    switch (message.type) {
      case 'keyDown': {
        this.#presses++;
        const code = keyIdToCode(message.key);
        if (code === 'ArrowLeft') this.#markerX = Math.max(0, this.#markerX - 0.05);
        else if (code === 'ArrowRight') this.#markerX = Math.min(1, this.#markerX + 0.05);
        else if (code === 'ArrowUp') this.#markerY = Math.max(0.2, this.#markerY - 0.05);
        else if (code === 'ArrowDown') this.#markerY = Math.min(1, this.#markerY + 0.05);
        this.#synth.play({ frequency: 1000, durationMs: 40, waveform: 'sine', volume: 0.3 });
        break;
      }
      case 'mouseButton':
        if (message.down) this.#presses++;
        break;
      case 'mouseMove':
      case 'touch':
        this.#markerX = message.x;
        this.#markerY = Math.max(0.2, message.y);
        break;
      case 'gamepad':
        if (message.buttons & 1) this.#presses++;
        this.#markerX = Math.min(1, Math.max(0, 0.5 + (message.axes[0] ?? 0) / 2));
        this.#markerY = Math.min(1, Math.max(0.2, 0.5 + (message.axes[1] ?? 0) / 2));
        break;
      default:
        break;
    }
  }

  mixAudio(out: Int16Array): void {
    this.#synth.mix(out);
  }

  resize(width: number, height: number): void {
    this.#width = width;
    this.#height = height;
    this.#painter = undefined;
  }

  close(): void {}

  get size(): { width: number; height: number } {
    return { width: this.#width, height: this.#height };
  }
}

/** The built-in latency-probe scene (720p60 by default). */
export function latencyProbeGame(pricePerMinute: string, fps = 60): GameDefinition {
  return {
    info: {
      id: fps === 60 ? 'latency-probe' : `latency-probe-${fps}`,
      title: fps === 60 ? 'Latency probe' : `Latency probe (${fps} fps)`,
      description:
        'A test scene that stamps frame number, capture time and last input into every frame; used to measure glass-to-glass and input-to-photon latency.',
      width: 1280,
      height: 720,
      fps,
      pricePerMinute,
      input: ['keyboard', 'mouse', 'gamepad', 'touch'],
      inputMap: { dpad: 'all', buttons: [{ label: 'Flip', key: 'Space' }] },
    },
    create: async (parameters) => new BuiltInGameRuntime(new LatencyProbe(parameters)),
  };
}
