import { BandwidthUsage } from './BandwidthUsage.js';

export interface TrendlineEstimatorOptions {
  /** Samples in the regression window (default 20). */
  windowSize?: number;
  /** Exponential smoothing of the accumulated delay (default 0.9). */
  smoothing?: number;
  /** Gain on the slope before it is compared with the threshold (default 4). */
  gain?: number;
  /** Starting threshold, ms (default 12.5); adapts within 6..600. */
  initialThreshold?: number;
}

const MIN_NUM_DELTAS = 60;
const OVERUSE_TIME_MS = 10;
const K_UP = 0.0087;
const K_DOWN = 0.039;
const MAX_ADAPT_OFFSET_MS = 15;
const MAX_TIME_DELTA_MS = 100;

/**
 * GCC's delay-gradient filter and overuse detector: accumulates (arrival delta − send delta), smooths
 * it, fits a line over the last `windowSize` samples and compares the slope (scaled) with a threshold
 * that adapts to the trend's own noise, so a path with steady jitter does not read as congestion and
 * a competing TCP flow does not starve us (the threshold grows while the trend sits just above it).
 */
export class TrendlineEstimator {
  readonly #windowSize: number;
  readonly #smoothing: number;
  readonly #gain: number;
  #threshold: number;
  #numDeltas = 0;
  #firstArrivalMs = -1;
  #accumulatedDelay = 0;
  #smoothedDelay = 0;
  readonly #history: Array<{ x: number; y: number }> = [];
  #trend = 0;
  #previousTrend = 0;
  #modifiedTrend = 0;
  #timeOverUsing = -1;
  #overuseCounter = 0;
  #lastThresholdUpdateMs = -1;
  #usage: BandwidthUsage = BandwidthUsage.normal;

  constructor(options: TrendlineEstimatorOptions = {}) {
    this.#windowSize = options.windowSize ?? 20;
    this.#smoothing = options.smoothing ?? 0.9;
    this.#gain = options.gain ?? 4;
    this.#threshold = options.initialThreshold ?? 12.5;
  }

  /** Current verdict. */
  get usage(): BandwidthUsage {
    return this.#usage;
  }

  /** Current adaptive threshold (ms). */
  get threshold(): number {
    return this.#threshold;
  }

  /** Current scaled trend (compared with the threshold). */
  get modifiedTrend(): number {
    return this.#modifiedTrend;
  }

  /** Feeds one inter-group sample; `nowMs` is the local clock (for the threshold's adaptation). */
  update(sendDeltaMs: number, arrivalDeltaMs: number, arrivalTimeMs: number, nowMs: number): BandwidthUsage {
    const delta = arrivalDeltaMs - sendDeltaMs;
    this.#numDeltas = Math.min(this.#numDeltas + 1, 1000);
    if (this.#firstArrivalMs < 0) this.#firstArrivalMs = arrivalTimeMs;
    this.#accumulatedDelay += delta;
    this.#smoothedDelay =
      this.#smoothing * this.#smoothedDelay + (1 - this.#smoothing) * this.#accumulatedDelay;
    this.#history.push({ x: arrivalTimeMs - this.#firstArrivalMs, y: this.#smoothedDelay });
    if (this.#history.length > this.#windowSize) this.#history.shift();
    if (this.#history.length === this.#windowSize) this.#trend = this.#slope() ?? this.#trend;
    this.#detect(sendDeltaMs, nowMs);
    return this.#usage;
  }

  #slope(): number | undefined {
    const n = this.#history.length;
    let sumX = 0;
    let sumY = 0;
    for (const point of this.#history) {
      sumX += point.x;
      sumY += point.y;
    }
    const meanX = sumX / n;
    const meanY = sumY / n;
    let numerator = 0;
    let denominator = 0;
    for (const point of this.#history) {
      numerator += (point.x - meanX) * (point.y - meanY);
      denominator += (point.x - meanX) ** 2;
    }
    return denominator === 0 ? undefined : numerator / denominator;
  }

  #detect(sendDeltaMs: number, nowMs: number): void {
    if (this.#numDeltas < 2) {
      this.#usage = BandwidthUsage.normal;
      return;
    }
    const modified = Math.min(this.#numDeltas, MIN_NUM_DELTAS) * this.#trend * this.#gain;
    this.#modifiedTrend = modified;
    if (modified > this.#threshold) {
      if (this.#timeOverUsing < 0) this.#timeOverUsing = sendDeltaMs / 2;
      else this.#timeOverUsing += sendDeltaMs;
      this.#overuseCounter++;
      if (this.#timeOverUsing > OVERUSE_TIME_MS && this.#overuseCounter > 1) {
        if (this.#trend >= this.#previousTrend) {
          this.#timeOverUsing = 0;
          this.#overuseCounter = 0;
          this.#usage = BandwidthUsage.overusing;
        }
      }
    } else if (modified < -this.#threshold) {
      this.#timeOverUsing = -1;
      this.#overuseCounter = 0;
      this.#usage = BandwidthUsage.underusing;
    } else {
      this.#timeOverUsing = -1;
      this.#overuseCounter = 0;
      this.#usage = BandwidthUsage.normal;
    }
    this.#previousTrend = this.#trend;
    this.#adaptThreshold(modified, nowMs);
  }

  #adaptThreshold(modified: number, nowMs: number): void {
    if (this.#lastThresholdUpdateMs < 0) this.#lastThresholdUpdateMs = nowMs;
    const magnitude = Math.abs(modified);
    // A spike far beyond the threshold (a sudden route change) must not drag the threshold with it.
    if (magnitude > this.#threshold + MAX_ADAPT_OFFSET_MS) {
      this.#lastThresholdUpdateMs = nowMs;
      return;
    }
    const k = magnitude < this.#threshold ? K_DOWN : K_UP;
    const dt = Math.min(nowMs - this.#lastThresholdUpdateMs, MAX_TIME_DELTA_MS);
    this.#threshold += k * (magnitude - this.#threshold) * dt;
    this.#threshold = Math.min(600, Math.max(6, this.#threshold));
    this.#lastThresholdUpdateMs = nowMs;
  }
}
