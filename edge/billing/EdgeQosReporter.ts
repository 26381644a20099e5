import type { Logger } from 'pino';
import type { Hex, LocalAccount, TypedDataDomain } from 'viem';
import { QosRole } from '../../protocol/eip712.js';
import { PeriodicQosReporter, type QosPeriodFigures } from '../../protocol/PeriodicQosReporter.js';
import { QosOutbox, type QosOutboxJournal, type QosReportPost } from '../../protocol/QosOutbox.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import type { StreamSession } from '../session/StreamSession.js';
import { toQosMetrics } from '../session/toQosMetrics.js';

export interface EdgeQosReporterParameters {
  session: StreamSession;
  /** The session's on-chain billing id (its token's `bid`; protocol/billingSession.ts). */
  billingId: Hex;
  /** The session's checkers (from its token). */
  checkers: readonly string[];
  /** The node key. */
  account: LocalAccount;
  /** The StakingRegistry's EIP-712 domain (protocol/eip712.ts `stakingDomain`). */
  domain: TypedDataDomain;
  periodMs: number;
  logger: Logger;
  /** Periods not to report (operators, tests). */
  withhold?: (minute: number) => boolean;
  /**
   * TEST ONLY — never set in a running network: rewrites the figures of each period before they are signed, so a
   * test can play a lying edge (e.g. inflated frames, which the player's report then refutes and the checkers
   * slash). There is no config or environment switch for it; only code that builds the billing can pass it.
   */
  reportTransform?: (minute: number, figures: QosPeriodFigures) => QosPeriodFigures;
  post?: QosReportPost;
  /** How often the reporter looks whether the stream has started, ms (default 50). */
  pollMs?: number;
  /** Told at each period's close, reported or withheld (the operator's minutes played). */
  onPeriod?: () => void;
  /** Told when the period clock starts (the first frame sent). */
  onStarted?: () => void;
  /** Told each period the edge closes (reported or withheld), with its number (the billing gate). */
  onPeriodClosed?: (minute: number) => void;
  /** Keeps the queued reports on disk until each checker took them (QosOutboxFile); none = memory only. */
  journal?: QosOutboxJournal;
}

/**
 * The edge's side of one session's billing: from the first frame sent (the first period would otherwise count the
 * connection set-up), every period it takes `SessionStats.takePeriod()`, signs it with the
 * node key as the next link of the session's report chain and queues it for the session's checkers, retried until
 * each takes it (`QosOutbox`).
 */
export class EdgeQosReporter {
  readonly outbox: QosOutbox;
  readonly #p: EdgeQosReporterParameters;
  readonly #reporter: PeriodicQosReporter;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(p: EdgeQosReporterParameters) {
    this.#p = p;
    const log = p.logger;
    this.outbox = new QosOutbox({
      checkers: p.checkers,
      ...(p.post ? { post: p.post } : {}),
      ...(p.journal ? { journal: p.journal } : {}),
      onEvent: (e) => {
        if (e.kind === 'dropped') log.warn(e, 'checker refused a QoS report for good');
        else if (e.kind === 'retry' && e.attempt % 5 === 1)
          log.info(e, 'QoS report not delivered yet; retrying');
      },
    });
    const chain = new QosReportChain({
      sessionId: p.billingId,
      role: QosRole.edge,
      signer: p.account,
      domain: p.domain,
    });
    this.#reporter = new PeriodicQosReporter({
      chain,
      outbox: this.outbox,
      periodMs: p.periodMs,
      sample: () => this.#sample(),
      ...(p.withhold ? { withhold: p.withhold } : {}),
      onError: (err) => log.error({ err }, 'cannot sign the QoS report'),
    });
    this.#poll = setInterval(() => {
      if (p.session.state === 'streaming' && p.session.statistics.counters().framesSent > 0) {
        // The period clock starts with the first frame sent (the page starts its own with the first frame it
        // decodes): what came before is set-up, not play.
        p.session.statistics.takePeriod();
        this.#reporter.start();
        this.#stopPoll();
        p.onStarted?.();
      } else if (p.session.closed) this.#stopPoll();
    }, p.pollMs ?? 50);
  }

  /** The session's on-chain billing id. */
  get billingId(): Hex {
    return this.#p.billingId;
  }

  /** Periods closed so far. */
  get periods(): number {
    return this.#reporter.minute;
  }

  #stopPoll(): void {
    if (this.#poll !== undefined) clearInterval(this.#poll);
    this.#poll = undefined;
  }

  #sample(): QosPeriodFigures {
    this.#p.onPeriod?.();
    const period = this.#p.session.statistics.takePeriod();
    this.#p.onPeriodClosed?.(this.#reporter.minute - 1);
    const figures: QosPeriodFigures = {
      metrics: toQosMetrics(period),
      detail: {
        targetFps: this.#p.session.stats().fps,
        framesEncoded: period.framesEncoded,
        framesDropped: Math.max(0, period.framesEncoded - period.framesSent),
        encodeP99Us: Math.round(period.encodeMs.p99 * 1000),
        nackCount: period.nacks,
        pliCount: period.plis + period.firs,
        keyframes: period.keyframes,
      },
    };
    const transform = this.#p.reportTransform;
    return transform ? transform(this.#reporter.minute - 1, figures) : figures;
  }

  /** Stops the period clock (the session ended); queued reports keep going out until `outbox.close()`. */
  async stop(): Promise<void> {
    this.#stopPoll();
    await this.#reporter.close();
  }

  /** Stops everything (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stop();
    this.outbox.close();
  }
}
