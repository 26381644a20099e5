import type { ProbeCluster } from './ProbeCluster.js';

export interface ProbeControllerOptions {
  /** Length of a cluster at its rate, ms (default 15). */
  clusterMs?: number;
  /** Fewest packets in a cluster (default 5). */
  minPackets?: number;
  /** First wait before retrying a failed recovery probe, ms (default 1000); doubles per failure. */
  intervalMs?: number;
  /** Longest wait between recovery probes, ms (default 2000). */
  maxIntervalMs?: number;
  /** How long after a large drop recovery probes continue, ms (default 60 000). */
  recoveryMs?: number;
  /** While application-limited, probe at twice the estimate this often, ms (default 3000; 0 = never). */
  alrIntervalMs?: number;
}

/** What a probe result means for its chain (see `ProbeController.onResult`). */
export type ProbeVerdict = 'climbing' | 'pending' | 'arrived' | 'failed';

/** Congestion this soon after a probe's success contradicts it, ms. */
const CONTRADICTED_MS = 1000;
/** A cluster at this share of the aim (the ceiling, or the maximum) is at the aim. */
const AT_AIM = 0.99;
/**
 * Length of a recovery cluster sent at the aim, ms, and its fewest bytes: 30 kB is well past a 16 kB
 * bucket's burst plus what refills it while the cluster goes out, so its tail shows the rate behind it
 * (at 19-22 kB, clusters aimed at 13-15 Mbit/s passed netlab's 3 Mbit/s bucket whole, read as arrived,
 * and the overshoot froze the picture), and the excess still fits a 3 Mbit/s link's 50 ms queue.
 */
const AIM_CLUSTER_MS = 12;
const AIM_CLUSTER_MIN_BYTES = 30_000;
/** A failed recovery cluster reading at least this share of its aim is retried after `RETRY_SOON_MS`. */
const AMBIGUOUS_SHARE = 0.5;
const RETRY_SOON_MS = 250;
/** A cluster the path kept up with succeeds down to this share of its rate (see `onResult`). */
const KEPT_UP_SUCCESS = 0.5;
/** Longest wait between recovery probes whose successes keep being contradicted, ms. */
const CONTRADICTED_MAX_INTERVAL_MS = 2000;

/**
 * Decides when to probe and how high (fast ramp-up). At start: clusters at 3× and 6× the start rate,
 * then, while each succeeds, one at twice what it found, up to the maximum (a few RTTs from 2 to
 * 20 Mbit/s instead of GCC's 8 % a second). After a large drop of the estimate (the link got worse):
 * a cluster at twice the estimate every `intervalMs` (backing off to `maxIntervalMs` while they fail)
 * and, when it passes, one straight at the rate the receiver acknowledged before the drop (then, if
 * that was well under the maximum, at the maximum), so a link that comes back is found in a second or two. While the sender is application-limited (a static scene, or an encoder the CPU
 * cannot keep up with) the estimate cannot grow from feedback, so a cluster at twice the estimate goes
 * out every `alrIntervalMs` (libwebrtc's ALR probing): a link that came back is found even when the
 * media alone never fills it. Otherwise no probing: the delay-based controller grows the rate on its
 * own, and probing a steady link only adds queueing.
 */
export class ProbeController {
  readonly #clusterMs: number;
  readonly #minPackets: number;
  readonly #baseIntervalMs: number;
  readonly #maxIntervalMs: number;
  readonly #recoveryMs: number;
  readonly #alrIntervalMs: number;
  #intervalMs: number;
  #maxBps: number;
  /** Where probing aims now; 0 = not probing. */
  #ceilingBps: number;
  #ceilingUntilMs = Number.POSITIVE_INFINITY;
  #nextId = 1;
  readonly #pending: ProbeCluster[] = [];
  /** Probes sent whose result is awaited: id → rate. */
  readonly #waiting = new Map<number, number>();
  #waitingSinceMs = -1;
  #lastProbeMs = -1;
  /** When a probe last succeeded (-1: never, or its success is settled). */
  #lastSuccessMs = -1;
  /** What recovery aims at since the first of a run of large drops, and until when. */
  #recoveryCeilingBps = 0;
  #recoveryUntilMs = Number.NEGATIVE_INFINITY;
  /** When a probe's success was last contradicted (-1: never). */
  #lastContradictedMs = -1;
  /** Wait between probes after contradicted successes (0: none); doubles per contradiction. */
  #contradictedIntervalMs = 0;
  #started = false;
  /** The last failed recovery chain was retried soon (see `onResult`); the next failure waits as usual. */
  #retriedSoon = false;

  constructor(maxBps: number, options: ProbeControllerOptions = {}) {
    this.#maxBps = maxBps;
    this.#ceilingBps = maxBps;
    this.#clusterMs = options.clusterMs ?? 15;
    this.#minPackets = options.minPackets ?? 5;
    this.#baseIntervalMs = options.intervalMs ?? 1000;
    this.#maxIntervalMs = options.maxIntervalMs ?? 2000;
    this.#recoveryMs = options.recoveryMs ?? 60_000;
    this.#alrIntervalMs = options.alrIntervalMs ?? 3000;
    this.#intervalMs = this.#baseIntervalMs;
  }

  /** Whether probing is aiming anywhere now (start-up or recovery). */
  get active(): boolean {
    return this.#ceilingBps > 0;
  }

  /** A new maximum (the player's cap); a higher one is probed for. */
  setMaxBps(maxBps: number, nowMs: number): void {
    const raised = maxBps > this.#maxBps;
    this.#maxBps = maxBps;
    if (raised) this.#aim(maxBps, nowMs);
    else this.#ceilingBps = Math.min(this.#ceilingBps, maxBps);
  }

  /**
   * Clusters due now (the pacer sends them in order), given the current estimate and whether the
   * sender is application-limited.
   */
  process(estimateBps: number, nowMs: number, appLimited = false): ProbeCluster[] {
    if (nowMs > this.#ceilingUntilMs) this.#ceilingBps = 0;
    if (this.#lastSuccessMs >= 0 && nowMs - this.#lastSuccessMs > CONTRADICTED_MS) {
      // The last success held: the path did carry it.
      this.#lastSuccessMs = -1;
      this.#contradictedIntervalMs = 0;
    }
    if (!this.#started) {
      this.#started = true;
      this.#queue([3 * estimateBps, 6 * estimateBps], nowMs);
    } else if (this.#waiting.size > 0 && nowMs - this.#waitingSinceMs > 1000) {
      // No result in a second: the probe failed (lost, or too little of it arrived).
      this.#waiting.clear();
      this.#onFailure();
    } else if (
      this.#waiting.size === 0 &&
      this.#pending.length === 0 &&
      estimateBps < 0.9 * this.#ceilingBps &&
      nowMs - this.#lastProbeMs >= Math.max(this.#intervalMs, this.#contradictedIntervalMs)
    ) {
      this.#queue([2 * estimateBps], nowMs);
    } else if (
      appLimited &&
      this.#alrIntervalMs > 0 &&
      this.#waiting.size === 0 &&
      this.#pending.length === 0 &&
      estimateBps < 0.9 * this.#maxBps &&
      nowMs - this.#lastProbeMs >= this.#alrIntervalMs
    ) {
      this.#queue([2 * estimateBps], nowMs);
    }
    return this.#pending.splice(0);
  }

  /**
   * Cluster `id`'s result came in (from `ProbeBitrateEstimator`). Says what it means for the chain:
   * `climbing` (it succeeded, a cluster at twice the finding is queued), `pending` (a higher cluster
   * still in flight answers for it, or it was not awaited), `arrived` (it succeeded at the ceiling, or was
   * sent at it) or `failed` (the path did not carry it). `strict`: the chain counts only if it arrives.
   * `keptUp`: the whole cluster arrived as fast as it left; then a reading down to half the cluster's
   * rate succeeds (a busy CPU sent a 20 Mbit/s cluster at 8-12 Mbit/s; under 0.7 × it failed every
   * recovery chain on a restored link, for 7 s and more).
   */
  onResult(
    id: number,
    resultBps: number,
    estimateBps: number,
    nowMs: number,
    strict = false,
    keptUp = false,
  ): ProbeVerdict {
    const target = this.#waiting.get(id);
    if (target === undefined) return 'pending';
    this.#waiting.delete(id);
    // A higher cluster still in flight answers for both.
    if ([...this.#waiting.values()].some((bps) => bps > target)) return 'pending';
    // Strict (a path with a token bucket), a cluster that did not keep up was spread out behind the bucket's
    // burst, however well its first packets read.
    const success = strict
      ? keptUp && resultBps >= KEPT_UP_SUCCESS * target
      : resultBps >= 0.7 * target || (keptUp && resultBps >= KEPT_UP_SUCCESS * target);
    if (success) {
      this.#retriedSoon = false;
      this.#intervalMs = this.#baseIntervalMs;
      const found = Math.max(resultBps, estimateBps);
      // A cluster sent at the aim itself has nowhere higher to go: a probe reads a little under the
      // rate it was sent at (media shares the link), and re-sending it only stalled the climb.
      const atAim = target >= AT_AIM * Math.min(this.#maxBps, this.#ceilingBps);
      if (found < 0.9 * this.#ceilingBps && !atAim) {
        // In a strict chain a climbing cluster decides nothing, so the top cluster's own overshoot
        // does not contradict it (that made every recovery chain on a still-low link wait 2 s).
        if (!strict) this.#lastSuccessMs = nowMs;
        // Recovering, only a cluster at the aim decides: the doubling clusters in between passed a token
        // bucket whatever the link and drained it, so the top one met an empty bucket and a full queue
        // (loss, and ~90 ms for the frames behind it, every 2 s of a low link). After the first, small
        // cluster (which a link without a bucket already fails) one cluster goes at the aim: tens of kB,
        // so a bucket passes its burst and spreads the rest out, which fails it (it must keep up).
        const aim = Math.min(this.#maxBps, this.#ceilingBps);
        if (this.recovering(nowMs)) this.#queue([aim], nowMs, AIM_CLUSTER_MS, AIM_CLUSTER_MIN_BYTES);
        else this.#queue([2 * found], nowMs);
        return 'climbing';
      }
      this.#lastSuccessMs = nowMs;
      this.#ceilingBps = 0;
      return 'arrived';
    }
    this.#waiting.clear();
    this.#onFailure();
    // A recovery cluster that read over half its aim without keeping up was more likely a busy sender's or
    // receiver's timing on a restored link (10-14 of 18 Mbit/s) than a bucket, whose spread-out cluster
    // reads a third of the aim: one more chain soon, instead of 2 s of the ramp.
    if (strict && this.recovering(nowMs) && resultBps >= AMBIGUOUS_SHARE * target && !this.#retriedSoon) {
      this.#retriedSoon = true;
      this.#lastProbeMs = nowMs - Math.max(this.#intervalMs, this.#contradictedIntervalMs) + RETRY_SOON_MS;
    } else {
      this.#retriedSoon = false;
    }
    return 'failed';
  }

  /** Whether recovery from a large drop is under way (probing for the level before it). */
  recovering(nowMs: number): boolean {
    return nowMs <= this.#recoveryUntilMs;
  }

  /** The level recovery aims at (the one before the first of a run of drops, under the maximum); 0 when not recovering. */
  recoveryLevelBps(nowMs: number): number {
    return this.recovering(nowMs) ? Math.min(this.#maxBps, this.#recoveryCeilingBps) : 0;
  }

  /** Whether a probe's success was contradicted within the last `ms` (the path has a token bucket). */
  contradictedWithin(nowMs: number, ms: number): boolean {
    return this.#lastContradictedMs >= 0 && nowMs - this.#lastContradictedMs <= ms;
  }

  /** Whether a cluster is queued or awaits its result. */
  get inFlight(): boolean {
    return this.#pending.length > 0 || this.#waiting.size > 0;
  }

  /**
   * The path refused the rate (overuse or a loss cut). Within a second of a probe's success that success
   * was a token bucket's burst, not capacity: the climb stops and the next recovery probe waits twice as
   * long as after the previous contradiction (up to 2 s; each costs the media a short overshoot).
   */
  onCongestion(nowMs: number): void {
    if (this.#lastSuccessMs < 0 || nowMs - this.#lastSuccessMs > CONTRADICTED_MS) return;
    this.#lastSuccessMs = -1;
    this.#lastContradictedMs = nowMs;
    this.#pending.length = 0;
    this.#waiting.clear();
    this.#lastProbeMs = nowMs;
    this.#contradictedIntervalMs = Math.min(
      CONTRADICTED_MAX_INTERVAL_MS,
      Math.max(this.#baseIntervalMs, 2 * this.#contradictedIntervalMs),
    );
    this.#onFailure();
  }

  /** The estimate dropped sharply from what the receiver acknowledged (`beforeBps`): recover to it. */
  onLargeDrop(beforeBps: number, nowMs: number): void {
    // Drops in a row (20 → 10 → 5) recover to the first level, not the last; so does a drop from a
    // level a probe reached falsely (a token bucket's) while recovering from a real one.
    const recovering = nowMs <= this.#recoveryUntilMs;
    const ceiling = recovering ? Math.max(this.#recoveryCeilingBps, beforeBps) : beforeBps;
    this.#recoveryCeilingBps = ceiling;
    this.#recoveryUntilMs = nowMs + this.#recoveryMs;
    this.#aim(Math.min(this.#maxBps, ceiling), nowMs);
    this.#ceilingUntilMs = nowMs + this.#recoveryMs;
    this.#lastProbeMs = nowMs; // let the estimate settle first
  }

  /**
   * A recovery chain arrived at `foundBps`. Where that is well under the maximum (the level before the
   * drop was an estimate held while a CPU-short encoder sent less, or still climbing), aim at the maximum
   * next: one more strict cluster finds the rest of a restored link, instead of 8 % a second (the bench's
   * ramp took 5-6 s after such a drop). The climb ends at its first failure, like the start-up ramp.
   */
  extendRecovery(foundBps: number, nowMs: number): void {
    if (!this.recovering(nowMs) || foundBps >= 0.9 * this.#maxBps) return;
    this.#recoveryCeilingBps = this.#maxBps;
    this.#aim(this.#maxBps, nowMs);
  }

  #aim(ceilingBps: number, nowMs: number): void {
    this.#ceilingBps = ceilingBps;
    this.#ceilingUntilMs = Number.POSITIVE_INFINITY;
    this.#intervalMs = this.#baseIntervalMs;
    this.#lastProbeMs = Math.min(this.#lastProbeMs, nowMs - this.#baseIntervalMs);
  }

  #onFailure(): void {
    // The start-up ramp ends at its first failure; recovery keeps trying, less and less often.
    if (this.#ceilingUntilMs === Number.POSITIVE_INFINITY) this.#ceilingBps = 0;
    this.#intervalMs = Math.min(this.#maxIntervalMs, this.#intervalMs * 2);
  }

  #queue(rates: number[], nowMs: number, clusterMs = this.#clusterMs, minBytes = 0): void {
    for (const rate of rates) {
      const bps = Math.min(rate, this.#maxBps);
      if (bps <= 0) continue;
      const id = this.#nextId++;
      this.#pending.push({
        id,
        bps,
        bytes: Math.max(minBytes, Math.ceil((bps * clusterMs) / 8000)),
        minPackets: this.#minPackets,
      });
      this.#waiting.set(id, bps);
    }
    this.#waitingSinceMs = nowMs;
    this.#lastProbeMs = nowMs;
  }
}
