import type { YuvPlanes } from '../../protocol/frameStamp.js';
import { stampHeight } from '../../protocol/frameStamp.js';
import { type InputMessage, keyIdToCode } from '../../protocol/input.js';
import { BuiltInGameRuntime } from './BuiltInGameRuntime.js';
import type { CreateGameParameters, GameDefinition } from './GameRuntime.js';
import type { SoftwareGame } from './SoftwareGame.js';
import { SoundSynth } from './SoundSynth.js';
import { rgbToYuv, YuvPainter } from './YuvPainter.js';

const COLS = 12;
const ROWS = 6;
const STEP_MS = 2;
const PADDLE_SPEED = 1.1; // world widths per second
const BALL_SPEED = 0.75;

const BACKGROUND = rgbToYuv(12, 14, 32);
const PADDLE = rgbToYuv(240, 240, 250);
const BALL = rgbToYuv(255, 220, 90);
const HUD = rgbToYuv(180, 190, 255);
const ROW_COLORS = [
  rgbToYuv(230, 70, 70),
  rgbToYuv(240, 140, 60),
  rgbToYuv(230, 210, 70),
  rgbToYuv(90, 200, 90),
  rgbToYuv(70, 160, 230),
  rgbToYuv(160, 100, 230),
];

/**
 * Breakout: move the paddle (arrows / A-D, gamepad stick or d-pad, mouse, touch), launch with Space,
 * Enter, gamepad A, click or tap. Coordinates are in world units: x 0..1 across, y 0..aspect down.
 */
export class Breakout implements SoftwareGame {
  #width: number;
  #height: number;
  #aspect: number;
  #painter: YuvPainter | undefined;
  readonly #synth = new SoundSynth();
  #lastMs: number;
  #accumulator = 0;
  // state
  #paddleX = 0.5;
  #paddleTarget: number | undefined;
  #ballX = 0.5;
  #ballY = 0;
  #ballVX = 0;
  #ballVY = 0;
  #attached = true;
  #bricks = new Uint8Array(COLS * ROWS);
  #score = 0;
  #lives = 3;
  // input
  #left = false;
  #right = false;
  #stick = 0;
  #padButtons = 0;
  #closed = false;

  constructor(parameters: CreateGameParameters) {
    this.#width = parameters.width;
    this.#height = parameters.height;
    this.#aspect = parameters.height / parameters.width;
    this.#lastMs = parameters.nowMs;
    this.#resetBricks();
  }

  get paddleX(): number {
    return this.#paddleX;
  }

  get score(): number {
    return this.#score;
  }

  #top(): number {
    // A HUD line, under the band the frame-stamp strip takes when the session asks for stamps (the
    // player's latency overlay): kept when stamps are off so the field does not move when they toggle.
    return stampHeight(this.#width) / this.#width + 0.05;
  }

  #paddleY(): number {
    return this.#aspect - 0.05;
  }

  #resetBricks(): void {
    this.#bricks.fill(1);
  }

  renderFrame(target: YuvPlanes, nowMs: number): void {
    let elapsed = Math.min(250, Math.max(0, nowMs - this.#lastMs));
    this.#lastMs = nowMs;
    this.#accumulator += elapsed;
    while (this.#accumulator >= STEP_MS) {
      this.#step(STEP_MS / 1000);
      this.#accumulator -= STEP_MS;
    }
    elapsed = 0;
    this.#draw(target);
  }

  #step(dt: number): void {
    let direction = 0;
    if (this.#left || this.#padButtons & (1 << 14)) direction -= 1;
    if (this.#right || this.#padButtons & (1 << 15)) direction += 1;
    if (Math.abs(this.#stick) > 0.15) direction += this.#stick;
    const half = 0.07;
    if (direction !== 0) {
      this.#paddleTarget = undefined;
      this.#paddleX += Math.max(-1, Math.min(1, direction)) * PADDLE_SPEED * dt;
    } else if (this.#paddleTarget !== undefined) {
      const delta = this.#paddleTarget - this.#paddleX;
      const max = PADDLE_SPEED * 2 * dt;
      this.#paddleX += Math.max(-max, Math.min(max, delta));
    }
    this.#paddleX = Math.max(half, Math.min(1 - half, this.#paddleX));
    const paddleY = this.#paddleY();
    const radius = 0.012;
    if (this.#attached) {
      this.#ballX = this.#paddleX;
      this.#ballY = paddleY - 0.02 - radius;
      return;
    }
    this.#ballX += this.#ballVX * dt;
    this.#ballY += this.#ballVY * dt;
    if (this.#ballX < radius) {
      this.#ballX = radius;
      this.#ballVX = Math.abs(this.#ballVX);
      this.#blip(330);
    } else if (this.#ballX > 1 - radius) {
      this.#ballX = 1 - radius;
      this.#ballVX = -Math.abs(this.#ballVX);
      this.#blip(330);
    }
    const top = this.#top();
    if (this.#ballY < top + radius) {
      this.#ballY = top + radius;
      this.#ballVY = Math.abs(this.#ballVY);
      this.#blip(330);
    }
    // paddle
    if (
      this.#ballVY > 0 &&
      this.#ballY + radius >= paddleY &&
      this.#ballY - radius <= paddleY + 0.02 &&
      Math.abs(this.#ballX - this.#paddleX) <= half + radius
    ) {
      const hit = (this.#ballX - this.#paddleX) / half; // -1..1
      const angle = hit * 1.05;
      this.#ballVX = Math.sin(angle) * BALL_SPEED;
      this.#ballVY = -Math.cos(angle) * BALL_SPEED;
      this.#synth.play({
        frequency: 520,
        endFrequency: 700,
        durationMs: 60,
        waveform: 'square',
        volume: 0.25,
      });
    }
    // bricks
    const brickW = 1 / COLS;
    const brickH = 0.035;
    const col = Math.floor(this.#ballX / brickW);
    const row = Math.floor((this.#ballY - top - 0.03) / brickH);
    if (row >= 0 && row < ROWS && col >= 0 && col < COLS && this.#bricks[row * COLS + col]) {
      this.#bricks[row * COLS + col] = 0;
      this.#ballVY = -this.#ballVY;
      this.#score += (ROWS - row) * 10;
      this.#synth.play({ frequency: 880 - row * 60, durationMs: 90, waveform: 'triangle', volume: 0.3 });
      if (!this.#bricks.includes(1)) {
        this.#resetBricks();
        this.#attached = true;
        this.#synth.play({ frequency: 440, endFrequency: 1320, durationMs: 400, waveform: 'square' });
      }
    }
    if (this.#ballY > this.#aspect + radius) {
      this.#lives--;
      this.#attached = true;
      this.#synth.play({
        frequency: 300,
        endFrequency: 60,
        durationMs: 500,
        waveform: 'noise',
        volume: 0.35,
      });
      if (this.#lives <= 0) {
        this.#lives = 3;
        this.#score = 0;
        this.#resetBricks();
      }
    }
  }

  #blip(frequency: number): void {
    this.#synth.play({ frequency, durationMs: 30, waveform: 'sine', volume: 0.2 });
  }

  #launch(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#ballVX = BALL_SPEED * 0.45;
    this.#ballVY = -BALL_SPEED * 0.9;
    this.#synth.play({ frequency: 660, endFrequency: 990, durationMs: 80, waveform: 'square', volume: 0.2 });
  }

  #draw(target: YuvPlanes): void {
    if (!this.#painter || this.#painter.target !== target) this.#painter = new YuvPainter(target);
    const p = this.#painter;
    const s = target.width;
    p.clear(BACKGROUND);
    const top = this.#top();
    p.drawNumber(this.#score, 0.02 * s, (top - 0.04) * s, 0.03 * s, HUD);
    for (let i = 0; i < this.#lives; i++)
      p.fillCircle((0.96 - i * 0.03) * s, (top - 0.025) * s, 0.009 * s, BALL);
    const brickW = 1 / COLS;
    const brickH = 0.035;
    for (let row = 0; row < ROWS; row++) {
      const color = ROW_COLORS[row] ?? HUD;
      for (let col = 0; col < COLS; col++) {
        if (!this.#bricks[row * COLS + col]) continue;
        p.fillRect(
          (col * brickW + 0.002) * s,
          (top + 0.03 + row * brickH + 0.002) * s,
          (brickW - 0.004) * s,
          (brickH - 0.004) * s,
          color,
        );
      }
    }
    p.fillRect((this.#paddleX - 0.07) * s, this.#paddleY() * s, 0.14 * s, 0.02 * s, PADDLE);
    p.fillCircle(this.#ballX * s, this.#ballY * s, 0.012 * s, BALL);
  }

  input(message: InputMessage): void {
    switch (message.type) {
      case 'keyDown':
      case 'keyUp': {
        const down = message.type === 'keyDown';
        const code = keyIdToCode(message.key);
        if (code === 'ArrowLeft' || code === 'KeyA') this.#left = down;
        else if (code === 'ArrowRight' || code === 'KeyD') this.#right = down;
        else if (down && (code === 'Space' || code === 'Enter' || code === 'ArrowUp' || code === 'KeyW'))
          this.#launch();
        break;
      }
      case 'gamepad': {
        const pressed = message.buttons & ~this.#padButtons;
        this.#padButtons = message.buttons;
        this.#stick = message.axes[0] ?? 0;
        if (pressed & 1) this.#launch();
        break;
      }
      case 'mouseMove':
        this.#paddleTarget = message.x;
        break;
      case 'mouseButton':
        if (message.down && message.button === 0) this.#launch();
        break;
      case 'touch':
        this.#paddleTarget = message.x;
        if (message.phase === 0) this.#launch();
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
    this.#aspect = height / width;
    this.#painter = undefined;
  }

  close(): void {
    this.#closed = true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get height(): number {
    return this.#height;
  }
}

/** The built-in Breakout game. */
export function breakoutGame(pricePerMinute: string): GameDefinition {
  return {
    info: {
      id: 'breakout',
      title: 'Breakout',
      description:
        'Clear the wall of bricks. Arrows/A-D or gamepad stick to move, Space/Enter/gamepad A/click to launch; mouse and touch steer too.',
      width: 1280,
      height: 720,
      fps: 60,
      pricePerMinute,
      input: ['keyboard', 'mouse', 'gamepad', 'touch'],
      inputMap: { dpad: 'horizontal', buttons: [{ label: 'Launch', key: 'Space' }] },
    },
    create: async (parameters) => new BuiltInGameRuntime(new Breakout(parameters)),
  };
}
