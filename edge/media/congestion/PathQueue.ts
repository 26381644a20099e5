/** How long the baseline (least one-way delay) is kept per bucket, ms; the baseline spans 1-2 buckets. */
const BUCKET_MS = 1000;

/**
 * How long packets wait in the path's queue, ms, from transport-cc feedback: each acknowledged packet's
 * one-way delay (arrival on the receiver's clock − local send time, so only differences mean anything)
 * over the least one seen in the last 1-2 s (the path's own delay). A route that got longer reads as
 * queue for at most 2 s, then becomes the new baseline.
 */
export class PathQueue {
  #bucketStartMs = Number.NEGATIVE_INFINITY;
  #bucketMin = Number.POSITIVE_INFINITY;
  #previousMin = Number.POSITIVE_INFINITY;
  #queueMs = 0;

  /** One acknowledged packet (sent at `sendTimeMs`, arrived at `arrivalTimeMs`), read at `nowMs`. */
  onPacket(sendTimeMs: number, arrivalTimeMs: number, nowMs: number): void {
    const delay = arrivalTimeMs - sendTimeMs;
    if (nowMs - this.#bucketStartMs >= BUCKET_MS) {
      this.#previousMin = this.#bucketMin;
      this.#bucketMin = Number.POSITIVE_INFINITY;
      this.#bucketStartMs = nowMs;
    }
    this.#bucketMin = Math.min(this.#bucketMin, delay);
    this.#queueMs = delay - Math.min(this.#bucketMin, this.#previousMin);
  }

  /** The queue the newest acknowledged packet met, ms (0 before any). */
  get queueMs(): number {
    return this.#queueMs;
  }
}
