/** One step of the ladder. */
export interface QualityRung {
  width: number;
  height: number;
  fps: number;
}

export interface QualityLadderOptions {
  /** The full size and rate (the game's or the player's resize); the ladder steps down from here. */
  top: QualityRung;
  /** Bits per pixel per frame a rung needs to look acceptable (default 0.1: 720p60 ≈ 5.5 Mbit/s). */
  bitsPerPixel?: number;
  /** Estimate below the current rung's need this long → step down, ms (default 1000). */
  downAfterMs?: number;
  /**
   * Estimate short this long and now below half the current rung's need → step down, ms (default 250):
   * after a link drop the picture changes at once, so the keyframe that repairs what the drop lost is already the
   * smaller picture's (one keyframe, not one at the old size and another a second later).
   */
  deepDownAfterMs?: number;
  /** Estimate above the next rung's need × `upMargin` this long → step up, ms (default 4000). */
  upAfterMs?: number;
  /** Headroom before stepping up (default 1.3). */
  upMargin?: number;
  /**
   * Estimate above twice the next rung's need × `upMargin` this long → step up, straight to the highest
   * rung covered that well, ms (default 1000): a link that came back is not a noisy estimate, and one
   * rung per `upAfterMs` left the picture small for 8 s after it (doubles with flaps, as `upAfterMs`).
   */
  fastUpAfterMs?: number;
  /** Smallest height a resolution step goes to (default 270), then fps halves. */
  minHeight?: number;
  /**
   * A step down this soon after a step up, ms, was a flap: the next step up waits twice as long (up to
   * 8 × `upAfterMs`; default 10 000). The penalty ends once no step up has happened for a minute.
   */
  flapWindowMs?: number;
}

/** An estimate this many times a rung's need × `upMargin` covers it plainly (`fastUpAfterMs`). */
const PLENTY = 2;
/** A step down for a repair keyframe picks the rung by this share of the estimate. */
const REPAIR_SHARE = 0.75;
/** An estimate under this share of the rung's need is a deep shortfall (`deepDownAfterMs`). */
const DEEP_SHARE = 0.5;
/** Longest the up hold grows to after flaps, as a multiple of `upAfterMs`. */
const MAX_UP_PENALTY = 8;
/** A step up this long after the previous one starts with no flap penalty, ms. */
const FLAP_FORGET_MS = 60_000;

/** Why the ladder moved (the player's overlay shows it). */
export interface QualityChange {
  rung: QualityRung;
  direction: 'down' | 'up';
  /** E.g. "estimate 2.8 Mbit/s < 5.5 Mbit/s needed for 1280×720@60 for 1.0 s". */
  reason: string;
}

/** Resolution scale factors tried before fps is lowered. */
const SCALES = [1, 0.75, 0.5, 0.375];

function even(value: number): number {
  return Math.max(2, Math.round(value / 2) * 2);
}

function mbps(bps: number): string {
  return `${(bps / 1e6).toFixed(1)} Mbit/s`;
}

/**
 * The quality ladder: when the bandwidth estimate stays below what the current resolution needs, step
 * the resolution down (then the frame rate), and back up one rung at a time once the estimate has
 * comfortably covered the next rung for a while (or, when it covers higher rungs twice over for a
 * second, straight to the highest of them: the link came back). Hysteresis in both time and rate, so a noisy estimate
 * does not make the picture pump, and a step up undone within `flapWindowMs` doubles the next up hold. Pure logic on caller-supplied time.
 */
export class QualityLadder {
  readonly #rungs: QualityRung[];
  readonly #bitsPerPixel: number;
  readonly #downAfterMs: number;
  readonly #deepDownAfterMs: number;
  readonly #upAfterMs: number;
  readonly #upMargin: number;
  readonly #fastUpAfterMs: number;
  #index = 0;
  /** The highest rung (index) the CPU allows: the estimate does not climb above it. */
  #cpuTop = 0;
  #belowSinceMs = -1;
  #aboveSinceMs = -1;
  /** Since when the estimate has covered the next rung twice over (-1: it does not). */
  #plentySinceMs = -1;
  #lastChangeMs = Number.NEGATIVE_INFINITY;
  readonly #flapWindowMs: number;
  #lastUpMs = Number.NEGATIVE_INFINITY;
  /** The up hold's multiplier (doubles on each flap). */
  #upPenalty = 1;
  /** Sum and count of the estimates while below the current rung's need (the step picks by their mean). */
  #belowSum = 0;
  #belowCount = 0;

  constructor(options: QualityLadderOptions) {
    this.#bitsPerPixel = options.bitsPerPixel ?? 0.1;
    this.#downAfterMs = options.downAfterMs ?? 1000;
    this.#deepDownAfterMs = Math.min(this.#downAfterMs, options.deepDownAfterMs ?? 250);
    this.#upAfterMs = options.upAfterMs ?? 4000;
    this.#upMargin = options.upMargin ?? 1.3;
    this.#fastUpAfterMs = Math.min(this.#upAfterMs, options.fastUpAfterMs ?? 1000);
    this.#flapWindowMs = options.flapWindowMs ?? 10_000;
    const minHeight = options.minHeight ?? 270;
    const { top } = options;
    const rungs: QualityRung[] = [];
    for (const scale of SCALES) {
      const height = even(top.height * scale);
      if (scale < 1 && height < minHeight) break;
      rungs.push({ width: even(top.width * scale), height, fps: top.fps });
    }
    const last = rungs[rungs.length - 1] ?? top;
    if (top.fps >= 40) rungs.push({ ...last, fps: Math.round(top.fps / 2) });
    this.#rungs = rungs;
  }

  /** All rungs, top first. */
  get rungs(): readonly QualityRung[] {
    return this.#rungs;
  }

  /** The current rung. */
  get rung(): QualityRung {
    return this.#rungs[this.#index] as QualityRung;
  }

  /** Bits per second `rung` needs. */
  needBps(rung: QualityRung): number {
    return rung.width * rung.height * rung.fps * this.#bitsPerPixel;
  }

  /** How long the estimate must hold above the next rung before a step up, ms (grows with flaps). */
  get upAfterMs(): number {
    return this.#upAfterMs * this.#upPenalty;
  }

  /** Feeds the current estimate; returns a change when the ladder moves. */
  update(estimateBps: number, nowMs: number): QualityChange | undefined {
    const current = this.rung;
    const need = this.needBps(current);
    if (estimateBps < need && this.#index < this.#rungs.length - 1) {
      this.#aboveSinceMs = -1;
      if (this.#belowSinceMs < 0) {
        this.#belowSinceMs = nowMs;
        this.#belowSum = 0;
        this.#belowCount = 0;
      }
      this.#belowSum += estimateBps;
      this.#belowCount++;
      const hold = estimateBps < DEEP_SHARE * need ? this.#deepDownAfterMs : this.#downAfterMs;
      if (nowMs - this.#belowSinceMs < hold) return undefined;
      return this.#stepDown(nowMs);
    }
    this.#belowSinceMs = -1;
    const higher = this.#index > this.#cpuTop ? this.#rungs[this.#index - 1] : undefined;
    if (!higher) return undefined;
    const upNeed = this.needBps(higher) * this.#upMargin;
    if (estimateBps < upNeed) {
      this.#aboveSinceMs = -1;
      this.#plentySinceMs = -1;
      return undefined;
    }
    if (this.#aboveSinceMs < 0) this.#aboveSinceMs = nowMs;
    const plenty = estimateBps >= PLENTY * upNeed;
    if (!plenty) this.#plentySinceMs = -1;
    else if (this.#plentySinceMs < 0) this.#plentySinceMs = nowMs;
    if (nowMs - this.#lastUpMs >= FLAP_FORGET_MS) this.#upPenalty = 1;
    const fastHold = this.#fastUpAfterMs * this.#upPenalty;
    const fast = plenty && nowMs - this.#plentySinceMs >= fastHold && nowMs - this.#lastChangeMs >= fastHold;
    const hold = fast ? fastHold : this.upAfterMs;
    if (!fast && (nowMs - this.#aboveSinceMs < hold || nowMs - this.#lastChangeMs < hold)) return undefined;
    let next = this.#index - 1;
    while (
      fast &&
      next - 1 >= this.#cpuTop &&
      estimateBps >= PLENTY * this.#upMargin * this.needBps(this.#rungs[next - 1] as QualityRung)
    ) {
      next--;
    }
    const reached = this.#rungs[next] as QualityRung;
    this.#move(next, nowMs);
    this.#lastUpMs = nowMs;
    return {
      rung: this.rung,
      direction: 'up',
      reason: `estimate ${mbps(estimateBps)} ≥ ${mbps(fast ? PLENTY * this.#upMargin * this.needBps(reached) : upNeed)} for ${this.#label(reached)} for ${(hold / 1000).toFixed(1)} s`,
    };
  }

  /**
   * The estimate is under the current rung's need and a keyframe is due anyway (losses to repair): step
   * down now, to the rung the estimate covers, instead of after the hold — the repair keyframe is then
   * the smaller picture's (the new encoder's first frame), not a big one at the new rate followed by
   * another when the hold ends. Undefined when the estimate covers the rung, or at the bottom.
   */
  stepDownForRepair(estimateBps: number, nowMs: number): QualityChange | undefined {
    if (estimateBps >= this.needBps(this.rung) || this.#index >= this.#rungs.length - 1) return undefined;
    if (this.#belowSinceMs < 0) {
      this.#belowSinceMs = nowMs;
      this.#belowSum = 0;
      this.#belowCount = 0;
    }
    // With headroom: the estimate is usually still falling when losses ask for a keyframe (3.3 Mbit/s on
    // its way to 1.4 picked 960×540, and the next step sent a second keyframe).
    this.#belowSum += REPAIR_SHARE * estimateBps;
    this.#belowCount++;
    return this.#stepDown(nowMs);
  }

  /** Down to the highest rung the estimate's mean since it fell short covers (or the bottom one). */
  #stepDown(nowMs: number): QualityChange {
    const current = this.rung;
    const need = this.needBps(current);
    // Judged by the mean over the hold: a moment's dip (a loss burst when the link drops) does not send
    // the picture to the bottom.
    const mean = this.#belowSum / this.#belowCount;
    let next = this.#index + 1;
    while (next < this.#rungs.length - 1 && this.needBps(this.#rungs[next] as QualityRung) > mean) next++;
    const held = nowMs - this.#belowSinceMs;
    if (nowMs - this.#lastUpMs < this.#flapWindowMs) {
      this.#upPenalty = Math.min(MAX_UP_PENALTY, this.#upPenalty * 2);
    }
    this.#move(next, nowMs);
    return {
      rung: this.rung,
      direction: 'down',
      reason: `estimate ${mbps(mean)} < ${mbps(need)} needed for ${this.#label(current)} for ${(held / 1000).toFixed(1)} s`,
    };
  }

  /** True while the CPU keeps the picture under the top rung (`stepDownForCpu` without `releaseCpu`). */
  get cpuLimited(): boolean {
    return this.#cpuTop > 0;
  }

  /** The rung below the current one, if any. */
  get lower(): QualityRung | undefined {
    return this.#rungs[this.#index + 1];
  }

  /** The rung above the current one, if any. */
  get higher(): QualityRung | undefined {
    return this.#rungs[this.#index - 1];
  }

  /**
   * One rung down because the encoder, not the network, is short of time (`why` says how); the estimate
   * cannot lift the picture back above this rung until `releaseCpu`. Undefined at the bottom rung.
   */
  stepDownForCpu(nowMs: number, why: string): QualityChange | undefined {
    if (this.#index >= this.#rungs.length - 1) return undefined;
    const from = this.rung;
    this.#move(this.#index + 1, nowMs);
    this.#cpuTop = this.#index;
    return { rung: this.rung, direction: 'down', reason: `CPU: ${why} at ${this.#label(from)}` };
  }

  /** The CPU has headroom again: the estimate may lift the picture one rung higher. Returns false at the top. */
  releaseCpu(): boolean {
    if (this.#cpuTop === 0) return false;
    this.#cpuTop = Math.min(this.#cpuTop, this.#index) - 1;
    return true;
  }

  /** Starts over from `top` (the player resized). */
  reset(nowMs: number): void {
    this.#cpuTop = 0;
    this.#move(0, nowMs);
  }

  #move(index: number, nowMs: number): void {
    this.#index = index;
    this.#belowSinceMs = -1;
    this.#aboveSinceMs = -1;
    this.#plentySinceMs = -1;
    this.#lastChangeMs = nowMs;
  }

  #label(rung: QualityRung): string {
    return `${rung.width}×${rung.height}@${rung.fps}`;
  }
}
