import type { Address, Hex } from 'viem';
import type { SessionBilling } from '../../protocol/billingSession.js';
import { QosRole, stakingDomain } from '../../protocol/eip712.js';
import { PeriodicQosReporter } from '../../protocol/PeriodicQosReporter.js';
import { QosOutbox, type QosOutboxEvent } from '../../protocol/QosOutbox.js';
import { QosReportChain, type QosReportSigner } from '../../protocol/QosReportChain.js';
import type { SignedQosReport } from '../../protocol/qosReport.js';
import { PeriodStats } from './PeriodStats.js';

export interface QosReporterOptions {
  billing: SessionBilling;
  /** The session key (its address is the grant's `sessionKey`). */
  signer: QosReportSigner;
  pc: RTCPeerConnection;
  /** Every signed report as it is queued, and what each checker answered. */
  onReport?: (report: SignedQosReport) => void;
  onEvent?: (event: QosOutboxEvent) => void;
}

/**
 * The page's per-period QoS reports: from the first decoded frame (`start()`), every period it takes the
 * receive-side figures (`PeriodStats`), signs them with the session key as the next link of its report chain and
 * sends them to every checker of the session, retrying until each takes them.
 */
export class QosReporter {
  readonly stats: PeriodStats;
  readonly outbox: QosOutbox;
  readonly #reporter: PeriodicQosReporter;
  #starting: Promise<void> | undefined;
  #closed = false;

  constructor(o: QosReporterOptions) {
    this.stats = new PeriodStats(o.pc);
    this.outbox = new QosOutbox({
      checkers: o.billing.checkers,
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    });
    this.#reporter = new PeriodicQosReporter({
      chain: new QosReportChain({
        sessionId: o.billing.sessionId as Hex,
        role: QosRole.player,
        signer: o.signer,
        domain: stakingDomain(o.billing.staking.chainId, o.billing.staking.address as Address),
      }),
      outbox: this.outbox,
      periodMs: o.billing.periodMs,
      sample: () => this.stats.take(),
      ...(o.onReport ? { onReport: o.onReport } : {}),
    });
  }

  /** Periods closed so far. */
  get periods(): number {
    return this.#reporter.minute;
  }

  /** Starts the period clock (call on the first decoded frame; idempotent). */
  start(): Promise<void> {
    this.#starting ??= this.stats.begin().then(() => {
      if (!this.#closed) this.#reporter.start();
    });
    return this.#starting;
  }

  /** Stops the period clock; queued reports still go out until `outbox.close()`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#reporter.close();
  }
}
