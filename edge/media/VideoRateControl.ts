import type { Logger } from 'pino';
import type { RTCRtpSender, RtpPacket } from 'werift';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { CpuHeadroom } from './CpuHeadroom.js';
import { CongestionController } from './congestion/CongestionController.js';
import type { EstimateReason, SendSideEstimate } from './congestion/SendSideEstimator.js';
import type { PacerClock } from './FramePacer.js';
import { type FecPayloadTypes, VideoFec, weriftWireContext } from './fec/VideoFec.js';
import { NackResponder } from './NackResponder.js';
import { type QualityChange, QualityLadder, type QualityRung } from './QualityLadder.js';
import { ReceiverRttResponder } from './ReceiverRttResponder.js';

export interface VideoRateControlOptions {
  /** The video sender; transport-cc must be negotiated on it. */
  video: RTCRtpSender;
  /** Other senders on the transport (audio). */
  others?: RTCRtpSender[];
  clock: PacerClock;
  startKbps: number;
  minKbps: number;
  maxKbps: number;
  /** What audio takes from the estimate, kbit/s. */
  audioKbps: number;
  /** The full picture (the game's size and rate, or the player's resize). */
  top: QualityRung;
  /** Step the picture down and up with the estimate (false: bitrate only). */
  adaptResolution: boolean;
  /** Sets the encoder's target bitrate, kbit/s. */
  setBitrate: (kbps: number) => void;
  /**
   * Moves the picture to `rung`: a new size opens a new encoder (off the frame path), a new frame rate
   * only skips frames. Resolves true when an encoder was opened; rejects when it does not open.
   */
  setRung: (rung: QualityRung) => Promise<boolean>;
  /** Asks the encoder for a keyframe (rate-limited by the caller like a PLI). */
  requestKeyframe: () => void;
  /** Forward error correction (ULPFEC in RED) with these negotiated payload types (default off). */
  fec?: FecPayloadTypes;
  logger: Logger;
}

/** What the page is told (the `quality` message without its type). */
export interface QualityReport {
  estimateKbps: number;
  targetKbps: number;
  capKbps: number | null;
  width: number;
  height: number;
  fps: number;
  reason: string;
}

/** Stats of the rate control (StreamSession stats carry them as `congestion`). */
export interface VideoRateControlStats extends QualityReport {
  /** The estimator's own state: why the estimate is what it is, and whether the sender is app-limited. */
  estimateReason: EstimateReason;
  appLimited: boolean;
  feedbacks: number;
  rungChanges: number;
  /** Encoders opened by the ladder (a frame-rate step opens none). */
  reopens: number;
  /** Packets re-sent for the player's NACKs (RTX when negotiated). */
  retransmitted: number;
  pacerMaxWaitMs: number;
  /** Bytes the pacer sent (media, FEC, re-sends; packet overhead included; padding not). */
  pacedBytes: number;
  queueMs: number;
  /** The queue the newest acknowledged packet met in the path, ms (over 50: every other frame skipped). */
  pathQueueMs: number;
  /** Mean encode time ÷ frame interval over the last second (≥ 0.8: the CPU is the bottleneck). */
  encodeLoad: number;
  /** The encoder's bitrate limit from the CPU, kbit/s (null: none). */
  cpuCapKbps: number | null;
  /** The encoder's bitrate, kbit/s: the target under the CPU's cap. */
  encoderKbps: number;
  /** With FEC: packets sent as FEC, the smoothed loss they are sized for, FEC ÷ media bytes. */
  fec?: { packets: number; loss: number; overhead: number };
}

export type VideoRateControlEvents = {
  /** The page should know: the picture changed, the target moved a lot, or a second passed. */
  quality: [report: QualityReport];
};

/** Share of (estimate − audio) the encoder targets: RTP/SRTP overhead and encoder overshoot. */
const TARGET_SHARE = 0.9;
/** How often the target and ladder are re-evaluated, ms. */
const EVALUATE_MS = 100;
/** Fewest ms between two re-opens of the encoder by the ladder. */
const RUNG_INTERVAL_MS = 2000;
/** Longest between two quality reports, ms. */
const REPORT_MS = 1000;
/** The encoder is using its target when its output over the last second is at least this share. */
const SATURATED_SHARE = 0.6;
/** A frame queued behind this much pacing, ms, is not encoded (the estimate is above the path). */
const MAX_QUEUE_MS = 120;
/** How long after the NACK that asks for it a repair keyframe waits for the estimate to show a drop, ms. */
const REPAIR_WAIT_MS = 100;
/** Above this queue in the path, ms, every other frame is skipped (`admitFrame`). */
const PATH_QUEUE_SKIP_MS = 50;
/** Share of the estimate retransmissions may take. */
const RETRANSMIT_SHARE = 0.5;

const REASONS: Record<EstimateReason, string> = {
  start: 'start',
  probe: 'probe: the path carries more',
  increase: 'increasing',
  'near-capacity': 'near the link capacity',
  delay: 'delay: queue building',
  loss: 'loss',
  'app-limited': 'the scene needs less',
  hold: 'holding',
  cap: 'the player cap',
};

/**
 * The video's bandwidth adaptation for one session: a `CongestionController` (transport-cc feedback →
 * GCC-style estimate, paced sending, probes) drives the encoder's target bitrate every evaluation
 * (~100 ms) under the player's cap, and a `QualityLadder` steps the picture down (and back up with
 * hysteresis) when the estimate stays under what the current resolution needs while the encoder is
 * actually using its target (a static scene that needs little never steps down). Re-opens are rate
 * limited. Tells the page through `quality` events.
 */
export class VideoRateControl extends TypedEmitter<VideoRateControlEvents> {
  readonly #options: VideoRateControlOptions;
  readonly #clock: PacerClock;
  readonly #controller: CongestionController;
  readonly #nacks: NackResponder;
  /** Lets the player measure the RTT its NACK retries wait for (RTCP XR DLRR). */
  readonly #receiverRtt: ReceiverRttResponder;
  readonly #fec: VideoFec | undefined;
  #ladder: QualityLadder;
  #capKbps: number | null = null;
  #targetKbps: number;
  #lastEvaluateMs = Number.NEGATIVE_INFINITY;
  #lastRungMs = Number.NEGATIVE_INFINITY;
  #lastReportMs = Number.NEGATIVE_INFINITY;
  #reportedTargetKbps = 0;
  #reason = 'start';
  #rung: QualityRung;
  #rungChanges = 0;
  #reopens = 0;
  #reopening = false;
  /** Encoded bytes of the last second: (ms, bytes) pairs. */
  readonly #encoded: Array<{ ms: number; bytes: number }> = [];
  #encodedBytes = 0;
  /** What the encoder was last given, kbit/s (the target under the CPU's cap). */
  #encoderKbps: number;
  readonly #cpu: CpuHeadroom;
  #closed = false;
  /** The last frame offered was skipped (`admitFrame` never skips two in a row for the path's queue). */
  #skippedLast = false;
  /** When the repair keyframe the NACK budget asked for is due (-1: none). */
  #repairAtMs = -1;
  /** The rung a ladder step is opening (undefined: none). */
  #pendingRung: QualityRung | undefined;

  constructor(options: VideoRateControlOptions) {
    super({
      onListenerError: (error, event) => options.logger.error({ err: error, event }, 'listener threw'),
    });
    this.#options = options;
    this.#clock = options.clock;
    this.#targetKbps = options.startKbps;
    this.#encoderKbps = options.startKbps;
    this.#rung = { ...options.top };
    this.#ladder = new QualityLadder({ top: options.top });
    this.#cpu = new CpuHeadroom(options.clock);
    this.#nacks = new NackResponder({
      sender: options.video,
      clock: options.clock,
      budgetBps: () => RETRANSMIT_SHARE * this.#controller.estimate.bps,
      pace: (bytes, send) => this.#controller.sendPriority(bytes, send),
      onOverload: () => {
        if (this.#repairAtMs < 0) this.#repairAtMs = this.#clock.now() + REPAIR_WAIT_MS;
      },
      ...(options.fec?.rtxForRed !== undefined ? { rtxForRed: options.fec.rtxForRed } : {}),
    });
    this.#receiverRtt = new ReceiverRttResponder({ sender: options.video });
    this.#controller = new CongestionController({
      video: options.video,
      ...(options.others ? { others: options.others } : {}),
      clock: options.clock,
      startBps: options.startKbps * 1000,
      minBps: options.minKbps * 1000,
      maxBps: options.maxKbps * 1000,
      onListenerError: (error) => options.logger.error({ err: error }, 'estimate listener threw'),
      onPacketSent: (packet) => this.#nacks.record(packet),
      ...(options.fec?.rtxForRed !== undefined ? { rtxForRed: options.fec.rtxForRed } : {}),
    });
    this.#controller.on('estimate', () => this.#evaluate(this.#clock.now()));
    this.#fec = options.fec
      ? new VideoFec({
          payloadTypes: options.fec,
          wire: () => weriftWireContext(options.video),
          lossFraction: () => this.#controller.estimate.lossFraction,
        })
      : undefined;
  }

  /** The current estimate and why. */
  get estimate(): SendSideEstimate {
    return this.#controller.estimate;
  }

  /** The encoder's target, kbit/s. */
  get targetKbps(): number {
    return this.#targetKbps;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * False when the next frame should not be encoded: the pacer still holds more than ~120 ms of video
   * (sending more would only add delay). Counted, so such skips are not taken for a short CPU.
   */
  admitFrame(): boolean {
    // The path's own queue: after a link drop it holds ~100 ms of what was sent for the old link, and at
    // the new rate it drained by only the little headroom left (the frames behind it waited 100-150 ms
    // for ~400 ms). Every other frame is skipped until it drains, so it drains about twice as fast.
    const skip =
      this.#controller.queueMs > MAX_QUEUE_MS ||
      (this.#controller.estimate.pathQueueMs > PATH_QUEUE_SKIP_MS && !this.#skippedLast);
    this.#skippedLast = skip;
    if (skip) this.#cpu.recordCongestedSkip();
    return !skip;
  }

  /** One frame spent `encodeMs` in the encoder (the CPU headroom is judged from these). */
  recordEncode(encodeMs: number): void {
    this.#cpu.recordEncode(encodeMs);
  }

  stats(): VideoRateControlStats {
    const pacer = this.#controller.pacerStats;
    return {
      ...this.#report(),
      estimateReason: this.#controller.estimate.reason,
      appLimited: this.#controller.estimate.appLimited,
      feedbacks: this.#controller.feedbacks,
      rungChanges: this.#rungChanges,
      reopens: this.#reopens,
      retransmitted: this.#nacks.stats.resent,
      pacerMaxWaitMs: Math.round(pacer.maxWaitMs),
      pacedBytes: pacer.bytes,
      queueMs: Math.round(this.#controller.queueMs),
      pathQueueMs: Math.round(this.#controller.estimate.pathQueueMs),
      encodeLoad: Math.round(this.#cpu.load.load * 100) / 100,
      cpuCapKbps: this.#cpu.capKbps,
      encoderKbps: this.#encoderKbps,
      ...(this.#fec
        ? {
            fec: {
              packets: this.#fec.stats.fecPackets,
              loss: Math.round(this.#fec.loss * 10_000) / 10_000,
              overhead: Math.round(this.#fec.overhead * 1000) / 1000,
            },
          }
        : {}),
    };
  }

  /** The player's cap, kbit/s (null: auto, the edge's maximum). */
  setCap(kbps: number | null): void {
    const { minKbps, maxKbps } = this.#options;
    this.#capKbps = kbps === null ? null : Math.min(maxKbps, Math.max(minKbps, kbps));
    this.#controller.setMaxBps((this.#capKbps ?? maxKbps) * 1000);
    this.#reason = kbps === null ? 'auto: no cap' : `the player cap ${this.#capKbps} kbit/s`;
    this.#lastEvaluateMs = Number.NEGATIVE_INFINITY;
    this.#evaluate(this.#clock.now(), true);
  }

  /** The player asked for another size: the ladder starts over from it. */
  setTop(top: QualityRung): void {
    this.#ladder = new QualityLadder({ top });
    this.#rung = { ...top };
    this.#lastRungMs = this.#clock.now();
    this.#cpu.reset();
  }

  /**
   * Paces one encoded frame out (`bytes` is its size); resolves when its last packet has left (true), or
   * when a later keyframe replaced it first (false). A keyframe replaces what was sent before it: NACKs
   * for older packets are no longer answered, and older frames still queued are dropped.
   */
  sendFrame(packets: RtpPacket[], bytes: number, keyframe = false): Promise<boolean> {
    const now = this.#clock.now();
    if (keyframe) this.#nacks.supersede();
    this.#encoded.push({ ms: now, bytes });
    this.#encodedBytes += bytes;
    const sent = this.#controller.sendFrame(this.#fec ? this.#fec.protect(packets) : packets, keyframe);
    if (now - this.#lastEvaluateMs >= EVALUATE_MS) this.#evaluate(now);
    if (this.#repairAtMs >= 0 && now >= this.#repairAtMs) {
      this.#repairAtMs = -1;
      this.#repair(now);
    }
    return sent;
  }

  /** Stops pacing; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.close();
    this.#nacks.close();
    this.#receiverRtt.close();
  }

  #encodedKbps(now: number): number {
    const encoded = this.#encoded;
    while (encoded.length > 0 && (encoded[0]?.ms ?? now) < now - 1000) {
      this.#encodedBytes -= encoded.shift()?.bytes ?? 0;
    }
    return (this.#encodedBytes * 8) / 1000;
  }

  #evaluate(now: number, forceReport = false): void {
    if (this.#closed) return;
    this.#lastEvaluateMs = now;
    const { minKbps, maxKbps, audioKbps } = this.#options;
    const estimate = this.#controller.estimate;
    const estimateKbps = estimate.bps / 1000;
    const cap = this.#capKbps ?? maxKbps;
    // FEC is sent on top of the encoder's output: the encoder gets the estimate's share less it.
    const fecShare = 1 + (this.#fec?.overhead ?? 0);
    const wanted = Math.round(Math.min(cap, ((estimateKbps - audioKbps) * TARGET_SHARE) / fecShare));
    const target = Math.min(maxKbps, Math.max(minKbps, wanted));
    const previous = this.#targetKbps;
    if (target < previous || target > previous * 1.02) {
      this.#targetKbps = target;
      if (target < previous * 0.85) this.#reason = this.#estimateReason(estimate);
    }
    // No bitrate is added for frames the CPU skipped: a dearer frame only starves the CPU further.
    const cpuRung = this.#judgeCpu(now);
    const encoderKbps = Math.max(minKbps, Math.min(this.#targetKbps, this.#cpu.capKbps ?? maxKbps));
    if (encoderKbps < this.#encoderKbps || encoderKbps > this.#encoderKbps * 1.02) {
      this.#encoderKbps = encoderKbps;
      this.#options.setBitrate(encoderKbps);
    }
    if (cpuRung) this.#applyRung(cpuRung, now);
    else if (this.#options.adaptResolution) this.#climbLadder(now, Math.min(estimate.bps, cap * 1000));
    const moved = Math.abs(this.#targetKbps - this.#reportedTargetKbps) > 0.2 * this.#reportedTargetKbps;
    if (forceReport || moved || now - this.#lastReportMs >= REPORT_MS) this.#emitReport(now);
  }

  /** The CPU's say (`CpuHeadroom`): a bitrate cap, a rung down, or the next rung up allowed again. */
  #judgeCpu(now: number): QualityChange | undefined {
    const ladder = this.#ladder;
    const rung = this.#rung;
    const higher = ladder.cpuLimited ? ladder.higher : undefined;
    const lower = ladder.lower;
    const fpsOnly = lower && lower.width === rung.width && lower.height === rung.height;
    const decision = this.#cpu.judge({
      fps: rung.fps,
      pixels: rung.width * rung.height,
      ...(higher ? { higher: { fps: higher.fps, pixels: higher.width * higher.height } } : {}),
      ...(fpsOnly ? { lowerFps: lower.fps } : {}),
      encoderKbps: this.#encoderKbps,
      targetKbps: this.#targetKbps,
      floorKbps: Math.max(this.#options.minKbps, ladder.needBps(ladder.rung) / 2000),
      canStepDown:
        this.#options.adaptResolution && !this.#reopening && now - this.#lastRungMs >= RUNG_INTERVAL_MS,
    });
    if (decision.reason) this.#reason = decision.reason;
    if (decision.release) ladder.releaseCpu();
    return decision.stepDown === undefined ? undefined : ladder.stepDownForCpu(now, decision.stepDown);
  }

  /**
   * Losses the NACK budget cannot repair: a keyframe, asked for `REPAIR_WAIT_MS` after the NACK (a link
   * drop overflows the queue before the estimate has fallen). While the estimate is under what the
   * picture needs the ladder steps down now and the new encoder's first frame is that keyframe; a keyframe
   * of the old picture took 100-300 ms at the new rate, and the step a moment later sent another (two
   * freezes in the drop's transient). A new encoder on its way brings its own keyframe.
   */
  #repair(now: number): void {
    const pending = this.#pendingRung;
    if (pending && (pending.width !== this.#rung.width || pending.height !== this.#rung.height)) return;
    if (this.#options.adaptResolution && !this.#reopening && now - this.#lastRungMs >= RUNG_INTERVAL_MS) {
      const cap = (this.#capKbps ?? this.#options.maxKbps) * 1000;
      const change = this.#ladder.stepDownForRepair(Math.min(this.#controller.estimate.bps, cap), now);
      if (change) {
        const sameSize = change.rung.width === this.#rung.width && change.rung.height === this.#rung.height;
        this.#applyRung(change, now);
        // A frame-rate step opens no encoder, so no keyframe comes with it.
        if (!sameSize) return;
      }
    }
    this.#options.requestKeyframe();
  }

  #climbLadder(now: number, availableBps: number): void {
    if (this.#reopening || now - this.#lastRungMs < RUNG_INTERVAL_MS) return;
    const need = this.#ladder.needBps(this.#ladder.rung);
    // An encoder well under its target has what it needs: the scene is simple, the picture can stay.
    const saturated = this.#encodedKbps(now) >= SATURATED_SHARE * this.#encoderKbps;
    const change = this.#ladder.update(saturated ? availableBps : Math.max(availableBps, need), now);
    if (change) this.#applyRung(change, now);
  }

  #applyRung(change: QualityChange, now: number): void {
    this.#lastRungMs = now;
    this.#reopening = true;
    this.#pendingRung = change.rung;
    this.#rungChanges++;
    this.#reason = change.reason;
    const rung = change.rung;
    this.#options.logger.info({ rung, direction: change.direction, reason: change.reason }, 'quality step');
    this.#options
      .setRung(rung)
      .then((reopened) => {
        if (reopened) this.#reopens++;
        this.#rung = { ...rung };
      })
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'quality step failed'))
      .finally(() => {
        this.#reopening = false;
        this.#pendingRung = undefined;
        this.#lastRungMs = this.#clock.now();
        this.#cpu.reset();
        this.#emitReport(this.#clock.now());
      });
  }

  #estimateReason(estimate: SendSideEstimate): string {
    const base = REASONS[estimate.reason];
    return estimate.reason === 'loss' ? `${base}: ${(estimate.lossFraction * 100).toFixed(1)} %` : base;
  }

  #report(): QualityReport {
    const rung = this.#rung;
    return {
      estimateKbps: Math.round(this.#controller.estimate.bps / 1000),
      targetKbps: this.#targetKbps,
      capKbps: this.#capKbps,
      width: rung.width,
      height: rung.height,
      fps: rung.fps,
      reason: this.#reason.slice(0, 200),
    };
  }

  #emitReport(now: number): void {
    if (this.#closed) return;
    this.#lastReportMs = now;
    this.#reportedTargetKbps = this.#targetKbps;
    this.emit('quality', this.#report());
  }
}
