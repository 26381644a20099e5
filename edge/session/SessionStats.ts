import { summarize, type TimingSummary, TimingWindow } from '../media/TimingWindow.js';

/** Counters since the session started. */
export interface SessionCounters {
  /** Video frames that came out of the encoder. */
  framesEncoded: number;
  /** Video frames whose packets were all handed to the socket. */
  framesSent: number;
  /** Video payload bytes sent. */
  bytesSent: number;
  /** Keyframes sent (first frame, PLI/FIR, player request, resize). */
  keyframes: number;
  /** Opus packets sent. */
  audioPackets: number;
  /** RTCP generic NACKs, picture loss indications and full intra requests received. */
  nacks: number;
  plis: number;
  firs: number;
  /** Input data-channel messages, malformed ones, and the seq of the last one applied. */
  inputMessages: number;
  badInputMessages: number;
  lastInputSeq: number;
  /** Held-key refreshes received (keyDown of a key already down), and keys the edge released because no refresh came. */
  keyRefreshes: number;
  staleKeysReleased: number;
}

/**
 * One period of a session (e.g. one minute): what the edge encoded and sent, how long encoding took and
 * what the player's RTCP receiver reports said. The per-minute QoS report signs exactly this
 * (`toQosMetrics`).
 */
export interface SessionPeriod {
  /** Period start and end, ms on the stats clock. */
  startMs: number;
  endMs: number;
  framesEncoded: number;
  framesSent: number;
  bytesSent: number;
  /** Video bitrate over the period, kbit/s. */
  bitrateKbps: number;
  /** Time in the encoder per frame, ms. */
  encodeMs: TimingSummary;
  /** Median RTCP round-trip time, ms; undefined when no receiver report carried one. */
  rttMs: number | undefined;
  /** Median interarrival jitter the player reported, ms; undefined without receiver reports. */
  jitterMs: number | undefined;
  /** Worst fraction of packets the player reported lost, parts per million. */
  lossPpm: number;
  nacks: number;
  plis: number;
  firs: number;
  keyframes: number;
}

/** Period counters that restart at every `takePeriod()`. */
interface PeriodCounters {
  framesEncoded: number;
  framesSent: number;
  bytesSent: number;
  keyframes: number;
  nacks: number;
  plis: number;
  firs: number;
  lossPpm: number;
}

const zeroPeriod = (): PeriodCounters => ({
  framesEncoded: 0,
  framesSent: 0,
  bytesSent: 0,
  keyframes: 0,
  nacks: 0,
  plis: 0,
  firs: 0,
  lossPpm: 0,
});

/** Median of `values` (sorts in place); undefined when empty. */
function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  values.sort((a, b) => a - b);
  return values[Math.floor((values.length - 1) / 2)];
}

/**
 * A session's statistics: cumulative counters, recent timing windows (what `/v1/stats` and the encode
 * headroom read) and a per-period window that `takePeriod()` hands over and restarts. Recording
 * allocates nothing per frame.
 */
export class SessionStats {
  readonly #now: () => number;
  readonly #counters: SessionCounters = {
    framesEncoded: 0,
    framesSent: 0,
    bytesSent: 0,
    keyframes: 0,
    audioPackets: 0,
    nacks: 0,
    plis: 0,
    firs: 0,
    inputMessages: 0,
    badInputMessages: 0,
    lastInputSeq: 0,
    keyRefreshes: 0,
    staleKeysReleased: 0,
  };
  /** Frame ready to draw → last RTP packet of the frame handed to the socket, ms (recent frames). */
  readonly edgeTimes = new TimingWindow();
  /** Time in the encoder per frame, ms (recent frames). */
  readonly encodeTimes = new TimingWindow();
  /** Captured frames (native games): grab returned → frame ready in the encoder's planes, ms (recent frames). */
  readonly captureTimes = new TimingWindow();
  #period: PeriodCounters = zeroPeriod();
  #periodStart: number;
  // A minute at 60 fps is 3,600 frames.
  readonly #periodEncode = new TimingWindow(4096);
  #periodRtt: number[] = [];
  #periodJitter: number[] = [];

  /** `now`: monotonic ms (default performance.now). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#periodStart = now();
  }

  /** A frame spent `encodeMs` in the encoder; `produced`: it came out (not held while the encoder primes). */
  recordEncoded(encodeMs: number, produced: boolean): void {
    this.encodeTimes.record(encodeMs);
    this.#periodEncode.record(encodeMs);
    if (!produced) return;
    this.#counters.framesEncoded++;
    this.#period.framesEncoded++;
  }

  /** A captured frame was ready for the encoder `captureMs` after its grab returned. */
  recordCapture(captureMs: number): void {
    this.captureTimes.record(captureMs);
  }

  /** A frame of `bytes` went out `edgeMs` after it was ready to draw. */
  recordSent(bytes: number, edgeMs: number, keyframe: boolean): void {
    this.edgeTimes.record(edgeMs);
    this.#counters.framesSent++;
    this.#counters.bytesSent += bytes;
    this.#period.framesSent++;
    this.#period.bytesSent += bytes;
    if (keyframe) {
      this.#counters.keyframes++;
      this.#period.keyframes++;
    }
  }

  recordAudioPacket(): void {
    this.#counters.audioPackets++;
  }

  /** One RTCP receiver report block about our video: RTT (ms, when known), jitter (ms), fraction lost (0..1). */
  recordReceiverReport(report: { rttMs: number | undefined; jitterMs: number; fractionLost: number }): void {
    if (report.rttMs !== undefined && this.#periodRtt.length < 4096) this.#periodRtt.push(report.rttMs);
    if (this.#periodJitter.length < 4096) this.#periodJitter.push(report.jitterMs);
    this.#period.lossPpm = Math.max(this.#period.lossPpm, Math.round(report.fractionLost * 1_000_000));
  }

  recordNack(): void {
    this.#counters.nacks++;
    this.#period.nacks++;
  }

  recordPli(): void {
    this.#counters.plis++;
    this.#period.plis++;
  }

  recordFir(): void {
    this.#counters.firs++;
    this.#period.firs++;
  }

  /** An input message arrived (`seq` once it was applied). */
  recordInput(): void {
    this.#counters.inputMessages++;
  }

  recordInputApplied(seq: number): void {
    this.#counters.lastInputSeq = seq;
  }

  /** A held key was refreshed (keyDown of a key already down). */
  recordKeyRefresh(): void {
    this.#counters.keyRefreshes++;
  }

  /** The edge released a held key whose refreshes stopped (its keyUp was lost). */
  recordStaleKeyReleased(): void {
    this.#counters.staleKeysReleased++;
  }

  /** Counts a malformed input message; returns how many there have been. */
  recordBadInput(): number {
    return ++this.#counters.badInputMessages;
  }

  /** Seq of the last input message applied (stamped into frames). */
  get lastInputSeq(): number {
    return this.#counters.lastInputSeq;
  }

  /** The cumulative counters (a copy). */
  counters(): SessionCounters {
    return { ...this.#counters };
  }

  /** Clears the recent timing windows (benches, after warm-up); counters and the period are kept. */
  resetTimings(): void {
    this.edgeTimes.clear();
    this.encodeTimes.clear();
    this.captureTimes.clear();
  }

  /** Hands over the period since the last call (or the start) and starts the next one. */
  takePeriod(): SessionPeriod {
    const endMs = this.#now();
    const period = this.#period;
    const seconds = Math.max(0.001, (endMs - this.#periodStart) / 1000);
    const encode: number[] = [];
    this.#periodEncode.collect(encode);
    const result: SessionPeriod = {
      startMs: this.#periodStart,
      endMs,
      framesEncoded: period.framesEncoded,
      framesSent: period.framesSent,
      bytesSent: period.bytesSent,
      bitrateKbps: Math.round((period.bytesSent * 8) / seconds / 1000),
      encodeMs: summarize(encode),
      rttMs: median(this.#periodRtt),
      jitterMs: median(this.#periodJitter),
      lossPpm: period.lossPpm,
      nacks: period.nacks,
      plis: period.plis,
      firs: period.firs,
      keyframes: period.keyframes,
    };
    this.#period = zeroPeriod();
    this.#periodStart = endMs;
    this.#periodEncode.clear();
    this.#periodRtt = [];
    this.#periodJitter = [];
    return result;
  }
}
