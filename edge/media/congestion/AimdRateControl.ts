import { BandwidthUsage } from './BandwidthUsage.js';

export interface AimdRateControlOptions {
  startBps: number;
  minBps: number;
  maxBps: number;
  /** Multiplicative decrease on overuse, applied to the acknowledged rate (default 0.85). */
  beta?: number;
}

/** Fewest ms between two decreases while application-limited. */
const ALR_DECREASE_INTERVAL_MS = 1000;

/** Why the last change happened (shown to the player as the reason quality changed). */
export type AimdChange = 'start' | 'increase' | 'near-capacity' | 'overuse' | 'hold' | 'set';

/**
 * GCC's additive-increase / multiplicative-decrease rate controller. On overuse it drops to β × the
 * rate the receiver actually acknowledged (once per RTT at most) and remembers that as the link's
 * capacity; while the detector says normal it grows 8 % a second, or by about a packet per response
 * time when near the remembered capacity. Growth is capped at 1.5 × the acknowledged rate, except while
 * the sender is application-limited, when the estimate is simply held: a static scene sends little,
 * and that must neither raise nor collapse what the path is known to carry.
 */
export class AimdRateControl {
  readonly #beta: number;
  #minBps: number;
  #maxBps: number;
  #bps: number;
  #state: 'hold' | 'increase' | 'decrease' = 'increase';
  #lastChangeMs = -1;
  #lastDecreaseMs = -1;
  #rttMs = 200;
  /** Link capacity estimate from acknowledged rates at overuse (kbps, exponential average), or -1. */
  #capacityKbps = -1;
  #capacityVar = 0.4;
  #change: AimdChange = 'start';

  constructor(options: AimdRateControlOptions) {
    this.#beta = options.beta ?? 0.85;
    this.#minBps = options.minBps;
    this.#maxBps = options.maxBps;
    this.#bps = Math.min(options.maxBps, Math.max(options.minBps, options.startBps));
  }

  get bps(): number {
    return this.#bps;
  }

  /** What the last update did. */
  get lastChange(): AimdChange {
    return this.#change;
  }

  /** The remembered link capacity in bps, or undefined before the first overuse. */
  get capacityBps(): number | undefined {
    return this.#capacityKbps < 0 ? undefined : this.#capacityKbps * 1000;
  }

  setRtt(rttMs: number): void {
    this.#rttMs = rttMs;
  }

  setBounds(minBps: number, maxBps: number): void {
    this.#minBps = minBps;
    this.#maxBps = maxBps;
    this.#bps = Math.min(maxBps, Math.max(minBps, this.#bps));
  }

  /** Sets the estimate outright (a probe result, or the loss controller's lower bound). */
  setEstimate(bps: number, nowMs: number): void {
    // A probe that got through above the remembered capacity means the path changed.
    if (this.#capacityKbps >= 0 && bps / 1000 > this.#upperBoundKbps()) this.#capacityKbps = -1;
    this.#bps = Math.min(this.#maxBps, Math.max(this.#minBps, bps));
    this.#lastChangeMs = nowMs;
    this.#change = 'set';
  }

  /**
   * One detector verdict. `ackedBps` is the receive rate the feedback shows (undefined until known);
   * `appLimited` says the sender is not using the estimate.
   */
  update(usage: BandwidthUsage, ackedBps: number | undefined, appLimited: boolean, nowMs: number): number {
    if (this.#lastChangeMs < 0) this.#lastChangeMs = nowMs;
    if (usage === BandwidthUsage.overusing) this.#state = 'decrease';
    else if (usage === BandwidthUsage.underusing) this.#state = 'hold';
    else if (this.#state === 'hold') this.#state = 'increase';
    else if (this.#state === 'decrease') this.#state = 'hold';

    switch (this.#state) {
      case 'hold':
        this.#change = 'hold';
        this.#lastChangeMs = nowMs;
        break;
      case 'increase':
        this.#increase(ackedBps, appLimited, nowMs);
        break;
      case 'decrease':
        this.#decrease(ackedBps, appLimited, nowMs);
        break;
    }
    return this.#bps;
  }

  #increase(ackedBps: number | undefined, appLimited: boolean, nowMs: number): void {
    const dt = Math.max(0, nowMs - this.#lastChangeMs);
    this.#lastChangeMs = nowMs;
    if (appLimited) {
      this.#change = 'hold';
      return;
    }
    if (ackedBps !== undefined && this.#capacityKbps >= 0 && ackedBps / 1000 > this.#upperBoundKbps()) {
      // The path now carries more than the remembered capacity: forget it, grow multiplicatively.
      this.#capacityKbps = -1;
    }
    let next: number;
    if (this.#capacityKbps >= 0) {
      next = this.#bps + this.#additiveIncreaseBpsPerSecond() * (dt / 1000);
      this.#change = 'near-capacity';
    } else {
      const alpha = 1.08 ** Math.min(dt / 1000, 1);
      next = this.#bps + Math.max(this.#bps * (alpha - 1), 1000);
      this.#change = 'increase';
    }
    if (ackedBps !== undefined) next = Math.min(next, Math.max(this.#bps, 1.5 * ackedBps + 10_000));
    this.#bps = Math.min(this.#maxBps, Math.max(this.#minBps, next));
  }

  #decrease(ackedBps: number | undefined, appLimited: boolean, nowMs: number): void {
    // Application-limited, the sender cannot be what fills the queue: a delay rise is cross traffic or
    // a starved receiver clock, so back off at most once a second instead of once per RTT.
    const interval = appLimited ? ALR_DECREASE_INTERVAL_MS : Math.min(200, Math.max(10, this.#rttMs));
    const throughput = ackedBps ?? this.#bps;
    const deep = !appLimited && throughput < 0.5 * this.#bps;
    if (this.#lastDecreaseMs >= 0 && nowMs - this.#lastDecreaseMs < interval && !deep) {
      this.#state = 'hold';
      return;
    }
    // While application-limited the acknowledged rate says nothing about the path: back off from the
    // estimate itself instead of collapsing to the little that was sent.
    const basis = appLimited ? this.#bps : throughput;
    let next = this.#beta * basis;
    if (next > this.#bps && this.#capacityKbps >= 0) next = this.#beta * this.#capacityKbps * 1000;
    if (next < this.#bps) this.#bps = Math.max(this.#minBps, next);
    if (!appLimited) this.#onOveruse(throughput / 1000);
    this.#change = 'overuse';
    this.#state = 'hold';
    this.#lastChangeMs = nowMs;
    this.#lastDecreaseMs = nowMs;
  }

  #onOveruse(kbps: number): void {
    // Far under the remembered capacity: the path changed, start the memory over.
    const deviation = 3 * Math.sqrt(this.#capacityVar * Math.max(this.#capacityKbps, 0));
    if (this.#capacityKbps < 0 || kbps < this.#capacityKbps - deviation) {
      this.#capacityKbps = kbps;
      return;
    }
    const alpha = 0.05;
    this.#capacityKbps = (1 - alpha) * this.#capacityKbps + alpha * kbps;
    const norm = Math.max(this.#capacityKbps, 1);
    const error = this.#capacityKbps - kbps;
    this.#capacityVar = (1 - alpha) * this.#capacityVar + (alpha * error * error) / norm;
    this.#capacityVar = Math.min(2.5, Math.max(0.4, this.#capacityVar));
  }

  #upperBoundKbps(): number {
    return this.#capacityKbps + 3 * Math.sqrt(this.#capacityVar * this.#capacityKbps);
  }

  /** About one average packet per response time (RTT + 100 ms), at least 4 kbps a second. */
  #additiveIncreaseBpsPerSecond(): number {
    const bitsPerFrame = this.#bps / 30;
    const packetsPerFrame = Math.ceil(bitsPerFrame / (1200 * 8));
    const packetBits = bitsPerFrame / Math.max(1, packetsPerFrame);
    const responseMs = this.#rttMs + 100;
    return Math.max(4000, (packetBits * 1000) / responseMs);
  }
}
