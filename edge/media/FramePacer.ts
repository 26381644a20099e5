/** The clock a pacer runs on; injectable so tests drive time by hand. */
export interface PacerClock {
  /** Monotonic ms. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: performance.now and Node timers. */
export const systemClock: PacerClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface FramePacerStats {
  /** Frames handed to `onFrame`. */
  frames: number;
  /** Frame slots skipped because the previous frame was still being encoded or sent. */
  droppedBusy: number;
  /** Slots that found the previous frame busy and fired as soon as it was done (within half a slot). */
  caughtUp: number;
  /** Frame slots skipped because the loop woke up late (event loop blocked). */
  droppedLate: number;
}

export interface FramePacerOptions {
  fps: number;
  clock?: PacerClock;
  /**
   * Makes, encodes and sends one frame for slot `index`, due at `dueMs`. While its promise is pending
   * the next slots are not fired; the latest of them fires when it settles if that is within half a
   * slot of its time, the others are dropped, never queued.
   */
  onFrame: (index: number, dueMs: number) => Promise<void> | void;
  /** Called when `onFrame` throws or rejects; the pacer keeps running. */
  onError?: (error: unknown) => void;
}

/**
 * Fires frames at a fixed rate from a drift-free schedule (slot n is due at start + n/fps, not "last
 * tick + interval"). A slot whose predecessor is still in flight waits for it: it fires the moment the
 * predecessor is done if that is within half a slot of its due time (an encode a little over one frame
 * interval — a busy CPU — then costs a few ms of lateness instead of every other frame), otherwise it is
 * dropped and counted; only the latest waiting slot is kept. After a stall the pacer jumps to the
 * current slot instead of bursting through the missed ones.
 */
export class FramePacer {
  readonly #clock: PacerClock;
  readonly #onFrame: FramePacerOptions['onFrame'];
  readonly #onError: (error: unknown) => void;
  #interval: number;
  #startMs = 0;
  #slot = 0;
  #timer: unknown;
  #running = false;
  #inFlight = false;
  /** The latest slot that found a frame in flight: fired when that one settles, if still fresh. */
  #waiting: { index: number; due: number } | undefined;
  readonly #stats: FramePacerStats = { frames: 0, droppedBusy: 0, droppedLate: 0, caughtUp: 0 };

  constructor(options: FramePacerOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#interval = 1000 / options.fps;
    this.#onFrame = options.onFrame;
    this.#onError = options.onError ?? (() => {});
  }

  get running(): boolean {
    return this.#running;
  }

  /** Counters since start (a live object; copy it to keep a snapshot). */
  get stats(): Readonly<FramePacerStats> {
    return this.#stats;
  }

  /** Starts at the next slot from now; the first frame fires immediately. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#startMs = this.#clock.now();
    this.#slot = 0;
    this.#tick();
  }

  /** Changes the rate; the schedule restarts from the current time. */
  setFps(fps: number): void {
    this.#interval = 1000 / fps;
    if (!this.#running) return;
    this.#startMs = this.#clock.now();
    this.#slot = 0;
  }

  stop(): void {
    this.#running = false;
    this.#dropWaiting();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick = (): void => {
    this.#timer = undefined;
    if (!this.#running) return;
    const now = this.#clock.now();
    // The slot that is due now; slots between the last fired one and this one were missed.
    const current = Math.max(this.#slot, Math.floor((now - this.#startMs) / this.#interval + 1e-6));
    if (current > this.#slot) this.#stats.droppedLate += current - this.#slot;
    const due = this.#startMs + current * this.#interval;
    if (this.#inFlight) {
      this.#dropWaiting();
      this.#waiting = { index: current, due };
    } else {
      this.#fire(current, due);
    }
    this.#slot = current + 1;
    this.#schedule();
  };

  #dropWaiting(): void {
    if (this.#waiting) this.#stats.droppedBusy++;
    this.#waiting = undefined;
  }

  /** The frame in flight settled: the slot waiting for it fires now if it is still within half a slot. */
  #settled(): void {
    this.#inFlight = false;
    const waiting = this.#waiting;
    if (!waiting || !this.#running) return;
    if (this.#clock.now() - waiting.due > this.#interval / 2) {
      this.#dropWaiting();
      return;
    }
    this.#waiting = undefined;
    this.#stats.caughtUp++;
    this.#fire(waiting.index, waiting.due);
  }

  #schedule(): void {
    if (!this.#running) return;
    const due = this.#startMs + this.#slot * this.#interval;
    this.#timer = this.#clock.setTimeout(this.#tick, Math.max(0, due - this.#clock.now()));
  }

  #fire(index: number, due: number): void {
    this.#stats.frames++;
    let result: Promise<void> | void;
    try {
      result = this.#onFrame(index, due);
    } catch (error) {
      this.#onError(error);
      return;
    }
    if (result && typeof (result as Promise<void>).then === 'function') {
      this.#inFlight = true;
      (result as Promise<void>).then(
        () => this.#settled(),
        (error: unknown) => {
          this.#onError(error);
          this.#settled();
        },
      );
    }
  }
}
