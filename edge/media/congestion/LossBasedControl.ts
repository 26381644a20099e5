export interface LossBasedControlOptions {
  /** Below this loss fraction the bound follows the estimate up (default 0.02). */
  lowLoss?: number;
  /** Above this loss fraction the bound drops by half the loss (default 0.1). */
  highLoss?: number;
  /** Packets a loss sample needs (default 20). */
  minPackets?: number;
}

/** A cut does not go under this share of the acknowledged rate (the delay controller's β). */
const ACKED_FLOOR = 0.85;

/**
 * GCC's loss-based bound: an upper limit on the estimate from the fraction of packets the feedback
 * reports lost. Under `lowLoss` it does not limit; between the two thresholds it holds; above `highLoss`
 * it cuts to `rate × (1 − loss/2)` (rate: the estimate, or what an overfilling sender sends when that is less), but not under 0.85 × the acknowledged rate, at most once per 300 ms + RTT. Random loss of a few percent (Wi-Fi)
 * therefore never drags the rate down on its own: NACK/RTX repairs it.
 */
export class LossBasedControl {
  readonly #lowLoss: number;
  readonly #highLoss: number;
  readonly #minPackets: number;
  #boundBps = Number.POSITIVE_INFINITY;
  #lost = 0;
  #total = 0;
  #lastLoss = 0;
  #lastCutMs = -1;
  #rttMs = 200;

  constructor(options: LossBasedControlOptions = {}) {
    this.#lowLoss = options.lowLoss ?? 0.02;
    this.#highLoss = options.highLoss ?? 0.1;
    this.#minPackets = options.minPackets ?? 20;
  }

  /** The bound, Infinity when loss does not limit the rate. */
  get boundBps(): number {
    return this.#boundBps;
  }

  /** Loss fraction of the last complete sample. */
  get lossFraction(): number {
    return this.#lastLoss;
  }

  setRtt(rttMs: number): void {
    this.#rttMs = rttMs;
  }

  /**
   * Adds one feedback's counts; once a sample is complete, updates the bound against the current
   * estimate `estimateBps`. Returns true when the bound was cut.
   */
  onFeedback(
    lost: number,
    total: number,
    estimateBps: number,
    nowMs: number,
    ackedBps: number | undefined = undefined,
    sentBps: number | undefined = undefined,
  ): boolean {
    this.#lost += lost;
    this.#total += total;
    if (this.#total < this.#minPackets) return false;
    const loss = this.#lost / this.#total;
    this.#lastLoss = loss;
    this.#lost = 0;
    this.#total = 0;
    if (loss < this.#lowLoss) {
      this.#boundBps = Number.POSITIVE_INFINITY;
      return false;
    }
    if (loss <= this.#highLoss) {
      // Hold: the bound stays where it was, or where the estimate is now if it was not limiting.
      if (!Number.isFinite(this.#boundBps)) this.#boundBps = estimateBps;
      return false;
    }
    if (this.#lastCutMs >= 0 && nowMs - this.#lastCutMs < 300 + this.#rttMs) return false;
    this.#lastCutMs = nowMs;
    // A sender overfilling the path below its estimate (application-limited: a CPU-capped encoder over a
    // link that dropped) is cut from what it sends, as a cut from the held estimate changed nothing it
    // did. Not a sender merely application-limited: under random loss that pinned the estimate to it.
    const basis = Math.min(this.#boundBps, estimateBps, sentBps ?? Number.POSITIVE_INFINITY);
    // What arrived despite the loss is what the path carries: a queue overflowing after a link drop
    // reports the loss of the rate before it, which the delay controller has already cut to β × the
    // acknowledged rate; halving the loss off that again would land far under the link.
    const floor = ackedBps === undefined ? 0 : Math.min(basis, ACKED_FLOOR * ackedBps);
    this.#boundBps = Math.max(floor, basis * (1 - loss / 2));
    return true;
  }
}
