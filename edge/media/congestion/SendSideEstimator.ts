import { AckedBitrateEstimator } from './AckedBitrateEstimator.js';
import { AimdRateControl } from './AimdRateControl.js';
import { AlrDetector } from './AlrDetector.js';
import { BandwidthUsage } from './BandwidthUsage.js';
import { InterArrival } from './InterArrival.js';
import { LossBasedControl } from './LossBasedControl.js';
import { PathQueue } from './PathQueue.js';
import { ProbeBitrateEstimator } from './ProbeBitrateEstimator.js';
import type { ProbeCluster } from './ProbeCluster.js';
import { ProbeController, type ProbeControllerOptions, type ProbeVerdict } from './ProbeController.js';
import { readTransportFeedback, type TransportFeedbackLike } from './readTransportFeedback.js';
import { SendHistory } from './SendHistory.js';
import { TrendlineEstimator } from './TrendlineEstimator.js';

export interface SendSideEstimatorOptions {
  /** Estimate before any feedback, bps (default 2 Mbit/s). */
  startBps?: number;
  /** Floor, bps (default 300 kbit/s). */
  minBps?: number;
  /** Ceiling, bps (default 30 Mbit/s): the player's cap or the edge's maximum. */
  maxBps?: number;
  /** Probe tuning (see ProbeController). */
  probe?: ProbeControllerOptions;
}

/** Why the estimate is what it is (the player's stats overlay shows it). */
export type EstimateReason =
  | 'start'
  | 'probe'
  | 'increase'
  | 'near-capacity'
  | 'delay'
  | 'loss'
  | 'app-limited'
  | 'hold'
  | 'cap';

/** A snapshot for stats. */
export interface SendSideEstimate {
  bps: number;
  reason: EstimateReason;
  usage: BandwidthUsage;
  /** Loss fraction of the last complete loss sample. */
  lossFraction: number;
  /** The receiver's acknowledged rate, bps, when known. */
  ackedBps: number | undefined;
  appLimited: boolean;
  /** The queue the newest acknowledged packet met in the path, ms (`PathQueue`). */
  pathQueueMs: number;
}

/** An estimate this far under the best acknowledged rate of the last 2 s is a large drop (re-probe soon). */
const LARGE_DROP_RATIO = 0.66;
/**
 * Per feedback the estimate climbs toward a probe's finding by at most this × the acknowledged rate
 * (all at once after an application-limited start or a strict chain that arrived).
 */
const PROBE_STEP = 1.5;
/** A chain's failed last cluster reading under this share of its best success unmasks a token bucket. */
const BUCKET_RATIO = 0.5;
/** How long a contradicted probe success marks the path as having a token bucket, ms. */
const BUCKET_MEMORY_MS = 10_000;
/**
 * Application-limited, the path delivering under this share of what is sent, and by more than
 * `OVERFILL_MIN_BPS`, means the sender overfills it: the queue grows by ≥ 37 ms each 250 ms window (a
 * CPU-capped encoder at 4.1 Mbit/s on a link fallen to 3 delivers 0.73 of it).
 */
const OVERFILL_SHARE = 0.85;
/** Below this gap a low-rate scene's window noise could read as overfilling. */
const OVERFILL_MIN_BPS = 300_000;
/** A probe's finding the estimate has not reached in this long is dropped, ms. */
const PROBED_TTL_MS = 2000;

/**
 * GCC-style send-side bandwidth estimator over transport-wide congestion control feedback: the delay
 * gradient (trendline + adaptive-threshold overuse detector) drives an AIMD controller, a loss-based
 * bound caps it, application-limited periods hold it, and probe clusters ramp it up fast. Pure logic on
 * an injected clock: the caller reports sent packets and feedback and asks `process()` for probes.
 */
export class SendSideEstimator {
  readonly #history = new SendHistory();
  readonly #interArrival = new InterArrival();
  readonly #trendline = new TrendlineEstimator();
  readonly #acked = new AckedBitrateEstimator();
  /** The same window over send times, media only (no probes, no padding): what the sender put on the path. */
  readonly #sent = new AckedBitrateEstimator();
  readonly #alr = new AlrDetector();
  readonly #pathQueue = new PathQueue();
  readonly #loss = new LossBasedControl();
  readonly #probeResults = new ProbeBitrateEstimator();
  readonly #probes: ProbeController;
  readonly #aimd: AimdRateControl;
  #minBps: number;
  #maxBps: number;
  #bps: number;
  #reason: EstimateReason = 'start';
  /** (time, acknowledged rate) of the last 2 s, for large-drop detection. */
  readonly #recent: Array<{ ms: number; bps: number }> = [];
  #lastMs = 0;
  /** Padding packets the receiver acknowledged and reported missing (Chromium drops most: see onTransportFeedback). */
  #paddingAcked = 0;
  #paddingMissing = 0;
  /**
   * The last probe's finding above the estimate (0: none) and when it came. A probe of a few kB gets
   * through a token bucket (a policer, netlab's tbf) at line rate whatever the rate behind it, so a
   * finding is climbed to in steps of 1.5 × what the receiver acknowledges, and forgotten at the first
   * overuse or loss: on a path that really carries it the climb takes a few feedbacks, on one that does
   * not the encoder overshoots by half instead of by the probe's factor.
   */
  #probedBps = 0;
  #probedMs = 0;
  #probedAtOnce = false;
  /** The best result of a chain of probes still climbing (0: none), and whether it began app-limited. */
  #chainBps = 0;
  #chainAppLimited = false;

  constructor(options: SendSideEstimatorOptions = {}) {
    this.#minBps = options.minBps ?? 300_000;
    this.#maxBps = options.maxBps ?? 30_000_000;
    const start = Math.min(this.#maxBps, Math.max(this.#minBps, options.startBps ?? 2_000_000));
    this.#aimd = new AimdRateControl({ startBps: start, minBps: this.#minBps, maxBps: this.#maxBps });
    this.#probes = new ProbeController(this.#maxBps, options.probe);
    this.#bps = start;
  }

  /** Current estimate, bps. */
  get bps(): number {
    return this.#bps;
  }

  get snapshot(): SendSideEstimate {
    return {
      bps: this.#bps,
      reason: this.#reason,
      usage: this.#trendline.usage,
      lossFraction: this.#loss.lossFraction,
      ackedBps: this.#acked.bps,
      appLimited: this.#alr.inAlr,
      pathQueueMs: this.#pathQueue.queueMs,
    };
  }

  /** New bounds (the player's cap); the estimate is clamped into them at once. */
  setBounds(minBps: number, maxBps: number): void {
    this.#minBps = minBps;
    this.#maxBps = Math.max(minBps, maxBps);
    this.#aimd.setBounds(this.#minBps, this.#maxBps);
    this.#probes.setMaxBps(this.#maxBps, this.#lastMs);
    const clamped = Math.min(this.#maxBps, Math.max(this.#minBps, this.#bps));
    if (clamped !== this.#bps) this.#reason = 'cap';
    this.#bps = clamped;
  }

  /** Round-trip time from RTCP, ms. */
  setRtt(rttMs: number): void {
    this.#aimd.setRtt(rttMs);
    this.#loss.setRtt(rttMs);
  }

  /**
   * One packet left with transport-wide sequence number `seq16`. `probeClusterId` ≥ 0 marks probe
   * packets; `padding` ones are not media demand (they do not end an application-limited period).
   */
  onPacketSent(seq16: number, size: number, nowMs: number, probeClusterId = -1, padding = false): void {
    this.#history.onPacketSent(seq16, size, nowMs, probeClusterId, padding);
    if (!padding) this.#alr.onMediaSent(size, nowMs);
  }

  /** Processes one transport-cc feedback; returns the new estimate. */
  onTransportFeedback(feedback: TransportFeedbackLike, nowMs: number): number {
    const results = this.#history.onFeedback(readTransportFeedback(feedback), nowMs);
    if (results.length === 0) return this.#bps;
    let lost = 0;
    let counted = 0;
    let probeBps: number | undefined;
    let probeId = -1;
    const bucket = this.#strictProbing(nowMs);
    for (const result of results) {
      if (result.probeClusterId < 0 && !result.padding) this.#sent.onPacket(result.sendTimeMs, result.size);
      if (result.arrivalTimeMs === undefined) {
        // Padding re-sends a media packet as it was (same SSRC and sequence number): Chromium's SRTP replay
        // check drops it before its transport-cc accounting, so it is reported missing (unless the original
        // was lost). Not loss, unless this receiver takes most padding (then a lost one is a queue's drop).
        if (result.padding) {
          this.#paddingMissing++;
          if (this.#paddingAcked <= this.#paddingMissing) continue;
        }
        lost++;
        counted++;
        if (result.probeClusterId >= 0) this.#probeResults.onPacket(result, nowMs);
        continue;
      }
      counted++;
      if (result.padding) this.#paddingAcked++;
      this.#acked.onPacket(result.arrivalTimeMs, result.size);
      this.#pathQueue.onPacket(result.sendTimeMs, result.arrivalTimeMs, nowMs);
      const delta = this.#interArrival.onPacket(result.sendTimeMs, result.arrivalTimeMs);
      if (delta) this.#trendline.update(delta.sendDeltaMs, delta.arrivalDeltaMs, delta.arrivalTimeMs, nowMs);
      if (result.probeClusterId >= 0) {
        const found = this.#probeResults.onPacket(result, nowMs, bucket);
        if (found !== undefined) {
          probeBps = Math.max(probeBps ?? 0, found);
          probeId = result.probeClusterId;
        }
      }
    }
    const appLimited = this.#alr.update(this.#bps, nowMs);
    const usage = this.#trendline.usage;
    const ackedBps = this.#acked.bps;
    const sentBps = this.#sent.bps;
    // Application-limited (the estimate far above what is sent), yet the path delivers much less than is
    // sent: the sender itself fills the queue — a link that fell under an encoder kept below the estimate
    // by its CPU. Backing off from the held estimate (15 % a second) took 2-3 s to get under the link,
    // losing hundreds of packets; this is the ordinary case: β × what arrives.
    const overfilling =
      appLimited &&
      ackedBps !== undefined &&
      sentBps !== undefined &&
      ackedBps < OVERFILL_SHARE * sentBps &&
      sentBps - ackedBps > OVERFILL_MIN_BPS;
    let reason: EstimateReason;
    if (probeBps !== undefined && usage !== BandwidthUsage.overusing) {
      const keptUp = bucket && this.#probeResults.keptUp(probeId);
      const verdict = this.#probes.onResult(probeId, probeBps, this.#bps, nowMs, bucket, keptUp);
      const found = this.#chainFinding(verdict, probeBps, appLimited, nowMs);
      if (found !== undefined && found > this.#aimd.bps) {
        this.#probedBps = found;
        // A strict chain that got all the way (tens of kB at the level before the drop, whole) needs no
        // climb in steps of 1.5 × the acknowledged rate: the steps cost 0.8-1.3 s of the ramp.
        this.#probedAtOnce = this.#chainAppLimited || bucket;
        this.#probedMs = nowMs;
        this.#aimd.setEstimate(this.#towardProbe(ackedBps), nowMs);
        this.#interArrival.reset();
      }
      reason = 'probe';
    } else {
      this.#aimd.update(usage, ackedBps, appLimited && !overfilling, nowMs);
      const change = this.#aimd.lastChange;
      reason =
        change === 'overuse'
          ? 'delay'
          : appLimited && change === 'hold'
            ? 'app-limited'
            : change === 'increase' || change === 'near-capacity' || change === 'hold'
              ? change
              : this.#reason;
      if (change === 'overuse') this.#onCongestion(nowMs);
      if (nowMs - this.#probedMs > PROBED_TTL_MS) this.#probedBps = 0;
      if (this.#probedBps > this.#aimd.bps) {
        this.#aimd.setEstimate(this.#towardProbe(ackedBps), nowMs);
        reason = 'probe';
      }
    }
    const cut = this.#loss.onFeedback(
      lost,
      counted,
      this.#aimd.bps,
      nowMs,
      ackedBps,
      overfilling ? sentBps : undefined,
    );
    let bps = this.#aimd.bps;
    if (cut) this.#onCongestion(nowMs);
    if (this.#loss.boundBps < bps) {
      bps = Math.max(this.#minBps, this.#loss.boundBps);
      // The delay controller grows from the loss bound, not from a rate the path refused.
      this.#aimd.setEstimate(bps, nowMs);
      reason = 'loss';
    } else if (cut) {
      reason = 'loss';
    }
    this.#setEstimate(bps, reason, nowMs);
    return this.#bps;
  }

  /** Probe clusters due now; call every few ms (the pacer does). */
  process(nowMs: number): ProbeCluster[] {
    this.#lastMs = nowMs;
    const appLimited = this.#alr.update(this.#bps, nowMs);
    // A chain whose last cluster gave no result at all (lost, or too little arrived) proves nothing.
    if (this.#chainBps > 0 && !this.#probes.inFlight) this.#chainBps = 0;
    const clusters = this.#probes.process(this.#bps, nowMs, appLimited);
    for (const cluster of clusters) this.#probeResults.expect(cluster);
    return clusters;
  }

  #onCongestion(nowMs: number): void {
    this.#probedBps = 0;
    this.#probes.onCongestion(nowMs);
  }

  /**
   * A chain of probes (each twice the last) is judged when it ends, not cluster by cluster: a token
   * bucket (a policer, netlab's tbf) passes the first small clusters whole whatever the link, and only
   * the last, largest one reads the link (netlab at 3 Mbit/s: 4.1 and 8.2 Mbit/s "succeed", 16.4 reads
   * 2.8). A failure reading under half the chain's best success says those successes were a bucket's;
   * otherwise the chain found its best. Returns the finding once the chain has ended.
   */
  #chainFinding(
    verdict: ProbeVerdict,
    probeBps: number,
    appLimited: boolean,
    nowMs: number,
  ): number | undefined {
    if (this.#chainBps === 0) this.#chainAppLimited = appLimited;
    if (verdict === 'pending' || verdict === 'climbing') {
      this.#chainBps = Math.max(this.#chainBps, probeBps);
      return undefined;
    }
    const best = this.#chainBps;
    this.#chainBps = 0;
    // A recovery chain that arrived restores the level before the drop: its top cluster, sent at that
    // level, got through whole, and its reading is a lower bound (the pacer's ms-grained timer sends a
    // 20 Mbit/s cluster at 16-18 Mbit/s, less on a busy CPU, and media shares the link), which left the
    // estimate 10-20 % short and the rest to 8 %/s (0.5-2 s of the ramp). A link back only to 70-100 % of
    // that level is overshot until the delay controller's first cut.
    if (verdict === 'arrived') {
      const found = Math.max(best, probeBps, this.#probes.recoveryLevelBps(nowMs));
      this.#probes.extendRecovery(found, nowMs);
      return found;
    }
    // A path whose probe successes were contradicted lately has a bucket: only a chain that gets all
    // the way (a cluster of tens of kB at the ceiling) shows it carries more.
    if (this.#strictProbing(nowMs)) return undefined;
    if (probeBps < BUCKET_RATIO * best) return probeBps;
    return Math.max(best, probeBps);
  }

  /**
   * While recovering from a large drop, or lately contradicted, a chain counts only when it gets all the
   * way (tens of kB at the level before the drop) and its clusters answer for their whole bytes: a link
   * that fell to 3 Mbit/s behind a token bucket lets the first clusters through, and acting on them
   * overshot the link (a freeze) every time recovery probed.
   */
  #strictProbing(nowMs: number): boolean {
    return this.#probes.recovering(nowMs) || this.#probes.contradictedWithin(nowMs, BUCKET_MEMORY_MS);
  }

  /**
   * The next step toward the probe's finding: all of it when application-limited (no media to overshoot
   * with) or found by a strict chain (tens of kB at the aim, whole: no token bucket's burst).
   */
  #towardProbe(ackedBps: number | undefined): number {
    if (this.#probedAtOnce || ackedBps === undefined) return this.#probedBps;
    return Math.min(this.#probedBps, Math.max(this.#aimd.bps, PROBE_STEP * ackedBps + 10_000));
  }

  #setEstimate(bps: number, reason: EstimateReason, nowMs: number): void {
    this.#lastMs = nowMs;
    const recent = this.#recent;
    while (recent.length > 0 && (recent[0]?.ms ?? nowMs) < nowMs - 2000) recent.shift();
    const best = recent.reduce((max, entry) => Math.max(max, entry.bps), 0);
    if (best > 0 && bps < LARGE_DROP_RATIO * best) {
      this.#probes.onLargeDrop(best, nowMs);
      recent.length = 0; // once per drop
    }
    // What the path was known to carry: the acknowledged rate, or while application-limited (the scene
    // needed less than the estimate, so nothing was acknowledged above it) the estimate itself, which
    // feedback had not contradicted. Without the latter a drop from a held estimate is never noticed
    // and the restored link is found by 8 % a second instead of probes.
    const acked = this.#acked.bps;
    if (this.#alr.inAlr) recent.push({ ms: nowMs, bps: this.#bps });
    else if (acked !== undefined) recent.push({ ms: nowMs, bps: Math.min(acked, this.#bps) });
    this.#bps = bps;
    this.#reason = reason;
  }
}
