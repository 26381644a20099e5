import type { QosDetail, QosMetrics } from './eip712.js';
import type { QosOutbox } from './QosOutbox.js';
import type { QosReportChain } from './QosReportChain.js';
import type { SignedQosReport } from './qosReport.js';

/** One side's figures of one period: the signed metrics and the detail that goes with them. */
export interface QosPeriodFigures {
  metrics: QosMetrics;
  detail: Partial<QosDetail>;
}

export interface PeriodicQosReporterParameters {
  chain: QosReportChain;
  outbox: QosOutbox;
  /** The policy's period, ms. */
  periodMs: number;
  /** Takes the figures of the period that just closed (and starts the next). */
  sample: () => QosPeriodFigures | Promise<QosPeriodFigures>;
  /**
   * Periods this side does not report (the chain then skips them: the side says, with its next signature, that
   * it has no report for them). Operators and tests; default none.
   */
  withhold?: (minute: number) => boolean;
  /** Every signed report, as it is queued (the page shows its own timeline). */
  onReport?: (report: SignedQosReport) => void;
  onError?: (error: unknown) => void;
  /** Wall clock, unix ms (the links' `closedAt`). */
  now?: () => number;
}

/**
 * Closes a period every `periodMs` from `start()`: samples the side's figures, signs the next link of its report
 * chain and queues it for every checker. Periods run one after another (signing is asynchronous); a slow one
 * delays the next tick instead of overlapping it.
 */
export class PeriodicQosReporter {
  readonly #p: PeriodicQosReporterParameters;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #minute = 0;
  #work: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(p: PeriodicQosReporterParameters) {
    this.#p = p;
    this.#now = p.now ?? Date.now;
  }

  /** The next period's number (how many have closed). */
  get minute(): number {
    return this.#minute;
  }

  get started(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts the period clock (idempotent). */
  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.#work = this.#work.then(() => this.#close());
    }, this.#p.periodMs);
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    const minute = this.#minute++;
    try {
      const figures = await this.#p.sample();
      if (this.#p.withhold?.(minute) === true) return;
      const signed = await this.#p.chain.next(minute, figures.metrics, figures.detail, this.#now());
      this.#p.outbox.push(signed);
      this.#p.onReport?.(signed);
    } catch (error) {
      this.#p.onError?.(error);
    }
  }

  /** Stops the period clock (idempotent); a partial period is not reported. The outbox keeps sending. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#work;
  }
}
