import type { PacerClock } from './FramePacer.js';

/** What the encoder did over the last second, against the frame rate it should keep. */
export interface EncodeLoad {
  /** Mean time inside the encoder per frame ÷ the frame interval (1 = no headroom at all). */
  load: number;
  /** Mean encode time per frame, ms. */
  encodeMs: number;
  /** Frames encoded ÷ frames the rate asks for (1 = none skipped). */
  share: number;
  /** Frames encoded in the window. */
  frames: number;
  /** Frames not encoded because the pacer held too much video (the network, not the CPU). */
  congestedSkips: number;
  /** A whole window has passed since the last reset. */
  full: boolean;
}

/** What the rate control should do about the CPU now. */
export interface CpuDecision {
  /** The encoder's bitrate limit from the CPU, kbit/s (null: none). */
  capKbps: number | null;
  /** Set when the picture should step one rung down: why (e.g. "encode 14.1 ms of 16.7 ms per frame, 44 of 60 fps"). */
  stepDown?: string;
  /** True when the CPU would carry the next rung up (the estimate may lift the picture again). */
  release: boolean;
  /** Set when the cap was just cut: why, for the player's overlay. */
  reason?: string;
}

/** What `judge` needs to know of the stream. */
export interface CpuJudgeInput {
  /** The current rung: frame rate and pixels per frame. */
  fps: number;
  pixels: number;
  /** The next rung up, when there is one and the CPU holds the picture under it. */
  higher?: { fps: number; pixels: number };
  /**
   * The next rung down's frame rate when that rung only lowers the frame rate (the smallest size):
   * the picture does not step down to it while the CPU still gets more frames out than that.
   */
  lowerFps?: number;
  /** What the encoder is given now, and the network's target, kbit/s. */
  encoderKbps: number;
  targetKbps: number;
  /** Lowest cap: the cap stops falling here and the picture steps down instead. */
  floorKbps: number;
  /** The picture may step down now (resolution adaptation on, the ladder not re-opening or resting). */
  canStepDown: boolean;
}

/** Length of the measuring window, ms. */
const WINDOW_MS = 1000;
/** Encode load at which the CPU is the bottleneck. */
const HIGH_LOAD = 0.8;
/** Share of the frame rate under which skipped frames (none for congestion) mean a short CPU. */
const MIN_SHARE = 0.85;
/** Load under which the CPU has headroom; most load predicted for the next rung up. */
const LOW_LOAD = 0.5;
const UP_LOAD = 0.65;
/** While short, the cap is cut by this factor at most once per `STEP_MS`; with headroom it grows. */
const CUT = 0.75;
const GROW = 1.25;
const STEP_MS = 1000;
/** Short this long despite the cuts → the picture steps down, ms. */
const STEP_DOWN_AFTER_MS = 2000;
/** Headroom this long → the next rung up is allowed, ms. */
const RELEASE_AFTER_MS = 5000;

/**
 * Encode headroom of one session, and what to do about it. Measures the time each frame spends in the
 * encoder and how many frames make it over the last second. When the CPU, not the network, holds the
 * stream back (the encoder takes ≥ 80 % of the frame interval, or < 85 % of the frames are encoded while
 * the pacer is not congested) it caps the encoder's bitrate (cut to ¾ once a second: x264's work and the
 * packets to send grow with it) and, when that has not helped for 2 s, asks for a smaller picture. With
 * headroom again (load < 50 %) the cap grows back 25 % a second and goes once above the target, and
 * after 5 s it releases the next rung up if its predicted load (by pixels × fps) stays under 65 %.
 */
export class CpuHeadroom {
  readonly #clock: PacerClock;
  readonly #frames: Array<{ ms: number; encodeMs: number }> = [];
  readonly #congested: number[] = [];
  #encodeSum = 0;
  #sinceMs: number;
  #capKbps: number | null = null;
  #lastStepMs = Number.NEGATIVE_INFINITY;
  #busySinceMs = -1;
  #idleSinceMs = -1;
  #load: EncodeLoad;

  constructor(clock: PacerClock) {
    this.#clock = clock;
    this.#sinceMs = clock.now();
    this.#load = { load: 0, encodeMs: 0, share: 1, frames: 0, congestedSkips: 0, full: false };
  }

  /** The last judged load. */
  get load(): EncodeLoad {
    return this.#load;
  }

  /** The encoder's bitrate limit from the CPU, kbit/s (null: none). */
  get capKbps(): number | null {
    return this.#capKbps;
  }

  /** One frame went through the encoder in `encodeMs`. */
  recordEncode(encodeMs: number): void {
    this.#frames.push({ ms: this.#clock.now(), encodeMs });
    this.#encodeSum += encodeMs;
  }

  /** One frame was not encoded because the pacer was congested. */
  recordCongestedSkip(): void {
    this.#congested.push(this.#clock.now());
  }

  /** Forgets the measurements (the encoder was re-opened at another size or rate); keeps the cap. */
  reset(): void {
    this.#frames.length = 0;
    this.#congested.length = 0;
    this.#encodeSum = 0;
    this.#sinceMs = this.#clock.now();
    this.#busySinceMs = -1;
    this.#idleSinceMs = -1;
  }

  /** Judges the last second; call every evaluation (~100 ms). */
  judge(input: CpuJudgeInput): CpuDecision {
    const now = this.#clock.now();
    const load = this.#sample(now, input.fps);
    this.#load = load;
    const decision: CpuDecision = { capKbps: this.#capKbps, release: false };
    if (!load.full || load.frames < 5) return decision;
    const busy = load.load >= HIGH_LOAD || (load.share < MIN_SHARE && load.congestedSkips === 0);
    const idle = load.load < LOW_LOAD && load.share >= 0.95;
    if (!busy) this.#busySinceMs = -1;
    if (!idle) this.#idleSinceMs = -1;
    if (now - this.#lastStepMs < STEP_MS || (!busy && !idle)) return decision;
    this.#lastStepMs = now;
    if (busy) {
      if (this.#busySinceMs < 0) this.#busySinceMs = now;
      const why = `encode ${load.encodeMs.toFixed(1)} ms of ${(1000 / input.fps).toFixed(1)} ms per frame, ${load.frames} of ${input.fps} fps`;
      // Halving the frame rate for a CPU that still delivers more than half would drop frames, not save them.
      const worthIt = input.lowerFps === undefined || load.frames <= input.lowerFps;
      if (input.canStepDown && worthIt && now - this.#busySinceMs >= STEP_DOWN_AFTER_MS) {
        this.#busySinceMs = -1;
        decision.stepDown = why;
        return decision;
      }
      const cut = Math.round(
        Math.max(input.floorKbps, Math.min(this.#capKbps ?? input.encoderKbps, input.encoderKbps) * CUT),
      );
      if (cut < (this.#capKbps ?? Number.POSITIVE_INFINITY)) {
        this.#capKbps = cut;
        decision.capKbps = cut;
        decision.reason = `CPU: ${why}; bitrate capped at ${cut} kbit/s`;
      }
      return decision;
    }
    if (this.#idleSinceMs < 0) this.#idleSinceMs = now;
    if (this.#capKbps !== null) {
      const grown = Math.round(this.#capKbps * GROW);
      this.#capKbps = grown >= input.targetKbps ? null : grown;
      decision.capKbps = this.#capKbps;
    }
    const higher = input.higher;
    if (higher && now - this.#idleSinceMs >= RELEASE_AFTER_MS) {
      const predicted = (load.load * higher.pixels * higher.fps) / (input.pixels * input.fps);
      if (predicted < UP_LOAD) {
        this.#idleSinceMs = now;
        decision.release = true;
      }
    }
    return decision;
  }

  #sample(now: number, fps: number): EncodeLoad {
    const start = now - WINDOW_MS;
    const frames = this.#frames;
    while (frames.length > 0 && (frames[0]?.ms ?? now) < start)
      this.#encodeSum -= frames.shift()?.encodeMs ?? 0;
    while (this.#congested.length > 0 && (this.#congested[0] ?? now) < start) this.#congested.shift();
    const full = now - this.#sinceMs >= WINDOW_MS;
    const encodeMs = frames.length > 0 ? this.#encodeSum / frames.length : 0;
    return {
      load: (encodeMs * fps) / 1000,
      encodeMs,
      share: full ? frames.length / ((fps * WINDOW_MS) / 1000) : 1,
      frames: frames.length,
      congestedSkips: this.#congested.length,
      full,
    };
  }
}
