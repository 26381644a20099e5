export interface AlrDetectorOptions {
  /** Enter application-limited when the send rate is under this share of the estimate (default 0.65). */
  enterRatio?: number;
  /** Leave it above this share (default 0.8). */
  leaveRatio?: number;
  /** Window the send rate is measured over, ms (default 500). */
  windowMs?: number;
}

/**
 * Application-limited region detection: the encoder sends well under the estimate (a static scene, a
 * menu), so feedback cannot tell how much more the path would carry. Media bytes only; probe padding
 * does not count as demand.
 */
export class AlrDetector {
  readonly #enter: number;
  readonly #leave: number;
  readonly #windowMs: number;
  readonly #times: number[] = [];
  readonly #sizes: number[] = [];
  #bytes = 0;
  #startMs = -1;
  #inAlr = false;

  constructor(options: AlrDetectorOptions = {}) {
    this.#enter = options.enterRatio ?? 0.65;
    this.#leave = options.leaveRatio ?? 0.8;
    this.#windowMs = options.windowMs ?? 500;
  }

  get inAlr(): boolean {
    return this.#inAlr;
  }

  /** Records media bytes sent at `nowMs`. */
  onMediaSent(size: number, nowMs: number): void {
    if (this.#startMs < 0) this.#startMs = nowMs;
    this.#times.push(nowMs);
    this.#sizes.push(size);
    this.#bytes += size;
  }

  /** Media send rate over the window, bps. */
  sendBps(nowMs: number): number {
    while (this.#times.length > 0 && (this.#times[0] ?? nowMs) <= nowMs - this.#windowMs) {
      this.#times.shift();
      this.#bytes -= this.#sizes.shift() ?? 0;
    }
    return (this.#bytes * 8 * 1000) / this.#windowMs;
  }

  /** Re-evaluates against the current estimate; returns whether the sender is application-limited. */
  update(estimateBps: number, nowMs: number): boolean {
    if (this.#startMs < 0 || nowMs - this.#startMs < this.#windowMs) return this.#inAlr;
    const ratio = this.sendBps(nowMs) / Math.max(1, estimateBps);
    if (!this.#inAlr && ratio < this.#enter) this.#inAlr = true;
    else if (this.#inAlr && ratio > this.#leave) this.#inAlr = false;
    return this.#inAlr;
  }
}
