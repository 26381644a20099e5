import type { PacerClock } from '../../../edge/media/FramePacer.js';

/** A hand-driven clock whose timers fire synchronously inside `advanceTo` (for simulations). */
export class SyncClock implements PacerClock {
  time = 0;
  #timers: Array<{ at: number; callback: () => void; id: number }> = [];
  #nextId = 1;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.push({ at: this.time + Math.max(0, ms), callback, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle);
  }

  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time to `ms`, firing due timers in order. */
  advanceTo(ms: number): void {
    for (;;) {
      let next: { at: number; callback: () => void; id: number } | undefined;
      for (const timer of this.#timers) if (!next || timer.at < next.at) next = timer;
      if (!next || next.at > ms) break;
      this.#timers = this.#timers.filter((timer) => timer !== next);
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = ms;
  }

  /** Advances `ms` later like `advanceTo`, letting promise callbacks run after each timer (for async code). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      let next: { at: number; callback: () => void; id: number } | undefined;
      for (const timer of this.#timers) if (!next || timer.at < next.at) next = timer;
      if (!next || next.at > end) break;
      this.#timers = this.#timers.filter((timer) => timer !== next);
      this.time = Math.max(this.time, next.at);
      next.callback();
      await Promise.resolve();
      await Promise.resolve();
    }
    this.time = end;
  }
}
