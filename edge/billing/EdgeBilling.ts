import type { Logger } from 'pino';
import type { Hex, TypedDataDomain } from 'viem';
import { billingSessionId } from '../../protocol/billingSession.js';
import type { QosPeriodFigures } from '../../protocol/PeriodicQosReporter.js';
import { QosBatchPost } from '../../protocol/QosBatchPost.js';
import { QosOutbox, type QosReportPost } from '../../protocol/QosOutbox.js';
import type { Edge } from '../Edge.js';
import { BillingGate } from './BillingGate.js';
import { EdgeQosReporter } from './EdgeQosReporter.js';
import type { QosOutboxFile, RecoveredOutbox } from './QosOutboxFile.js';
import type { SettlementAgent } from './SettlementAgent.js';

export interface EdgeBillingParameters {
  edge: Edge;
  /** The StakingRegistry's EIP-712 domain the QoS reports are signed in. */
  domain: TypedDataDomain;
  /** The published policy's period, ms (the checkers' `periodMs`). */
  periodMs: number;
  logger: Logger;
  /** Settles the sessions' attested minutes; none = report only (someone else settles). */
  agent?: SettlementAgent;
  /** Periods an operator (or a test) does not report, per session. */
  withhold?: (sessionId: string, minute: number) => boolean;
  /**
   * TEST ONLY — never set in a running network: rewrites the figures of each period before they are signed, so a
   * test can play a lying edge (e.g. inflated frames, which the player's report then refutes and the checkers
   * slash). There is no config or environment switch for it; only code that builds the billing can pass it.
   */
  reportTransform?: (billingId: string, minute: number, figures: QosPeriodFigures) => QosPeriodFigures;
  /**
   * How a report reaches a checker. Default: one `QosBatchPost` for all the edge's sessions (the reports bound to a
   * checker within `batchWindowMs` go in one `POST /v1/reports/batch`; single posts to checkers without it).
   */
  post?: QosReportPost;
  /** The default post's gathering window, ms (default 200). */
  batchWindowMs?: number;
  /** How long an ended session's undelivered reports are still retried, ms (default 1 day). */
  flushMs?: number;
  /**
   * Pause sessions that cannot be paid (`BillingGate`): no grant at a quorum of checkers within `grantGraceMs` of
   * the start, or the player's report of a period not at a quorum within `reportDeadlineMs` of its close.
   * Undefined: never pause.
   */
  gate?: { grantGraceMs: number; reportDeadlineMs: number; pollMs?: number };
  /** The reports' file (QosOutboxFile.open) and what it recovered from an earlier process, resent in order. */
  outboxFile?: { file: QosOutboxFile; recovered: readonly RecoveredOutbox[] };
}

/**
 * The edge's billing: for every session whose token names checkers, an `EdgeQosReporter` signs and sends a QoS
 * report per period; when the session ends the period clock stops, the queued reports keep going out (retried
 * until each checker takes them, never dropped while the edge runs), and the settlement agent settles it. With
 * `gate`, a session that cannot be paid (no grant, the player's reports withheld) is paused (`BillingGate`).
 */
export class EdgeBilling {
  readonly #p: EdgeBillingParameters;
  readonly #reporters = new Map<string, EdgeQosReporter>();
  readonly #gates = new Map<string, BillingGate>();
  readonly #offs: (() => void)[] = [];
  /** Outboxes of sessions of an earlier process, resending what it queued. */
  readonly #replays = new Set<QosOutbox>();
  readonly #post: QosReportPost;
  #closed = false;

  constructor(p: EdgeBillingParameters) {
    this.#p = p;
    this.#post =
      p.post ?? new QosBatchPost(p.batchWindowMs !== undefined ? { windowMs: p.batchWindowMs } : {}).post;
    this.#offs.push(
      p.edge.on('sessionStarted', (e) => {
        if (e.checkers !== undefined && e.checkers.length > 0)
          this.#start(
            e.sessionId,
            (e.billingId ?? billingSessionId(e.sessionId)) as Hex,
            e.checkers,
            e.quorum ?? e.checkers.length,
          );
      }),
      p.edge.on('sessionEnded', (e) => void this.#end(e.sessionId)),
    );
    for (const recovered of p.outboxFile?.recovered ?? []) void this.#replay(recovered);
  }

  /** Resends, in order, what an earlier process of this edge queued for a session, and settles that session. */
  async #replay(recovered: RecoveredOutbox): Promise<void> {
    const file = this.#p.outboxFile?.file;
    if (file === undefined) return;
    const log = this.#p.logger.child({ sessionId: recovered.sessionId });
    const outbox = new QosOutbox({
      checkers: recovered.checkers,
      journal: file.journal(recovered.sessionId),
      post: this.#post,
      onEvent: (e) => {
        if (e.kind === 'dropped') log.warn(e, 'checker refused a QoS report for good');
      },
    });
    this.#replays.add(outbox);
    log.info({ reports: recovered.entries.length }, 'resending the QoS reports an earlier run queued');
    const billingId = recovered.billingId;
    this.#p.agent?.track(billingId, recovered.checkers);
    this.#p.agent?.ended(billingId);
    outbox.resume(recovered.entries);
    const timer = setTimeout(() => outbox.close(), this.#p.flushMs ?? 86_400_000);
    timer.unref();
    await outbox.drained();
    clearTimeout(timer);
    this.#replays.delete(outbox);
  }

  /** The reporter of a running (or still flushing) session. */
  reporter(sessionId: string): EdgeQosReporter | undefined {
    return this.#reporters.get(sessionId);
  }

  #start(sessionId: string, billingId: Hex, checkers: readonly string[], quorum: number): void {
    const session = this.#p.edge.session(sessionId);
    if (this.#closed || session === undefined) return;
    const withhold = this.#p.withhold;
    const transform = this.#p.reportTransform;
    const g = this.#p.gate;
    // The gate starts with the stream (the first frame sent): connecting does not use up the grant's grace.
    const startGate = () => {
      if (g === undefined || this.#closed || session.closed) return;
      this.#gates.set(
        sessionId,
        new BillingGate({
          stream: session,
          sessionId: billingId,
          checkers,
          quorum,
          edge: this.#p.edge.account.address,
          minPricePerMinute: BigInt(this.#p.edge.config.pricePerMinute),
          grantGraceMs: g.grantGraceMs,
          reportDeadlineMs: g.reportDeadlineMs,
          ...(g.pollMs !== undefined ? { pollMs: g.pollMs } : {}),
        }),
      );
    };
    const reporter = new EdgeQosReporter({
      session,
      billingId,
      checkers,
      account: this.#p.edge.account,
      domain: this.#p.domain,
      periodMs: this.#p.periodMs,
      logger: this.#p.logger.child({ sessionId }),
      ...(withhold ? { withhold: (minute: number) => withhold(sessionId, minute) } : {}),
      ...(transform
        ? {
            reportTransform: (minute: number, figures: QosPeriodFigures) =>
              transform(billingId, minute, figures),
          }
        : {}),
      post: this.#post,
      onPeriod: () => this.#p.agent?.periodClosed(billingId),
      onStarted: startGate,
      onPeriodClosed: (minute: number) => this.#gates.get(sessionId)?.periodClosed(minute),
      ...(this.#p.outboxFile ? { journal: this.#p.outboxFile.file.journal(sessionId) } : {}),
    });
    this.#reporters.set(sessionId, reporter);
    this.#p.agent?.track(billingId, checkers);
  }

  async #end(sessionId: string): Promise<void> {
    this.#gates.get(sessionId)?.close();
    this.#gates.delete(sessionId);
    const reporter = this.#reporters.get(sessionId);
    if (reporter === undefined) return;
    await reporter.stop();
    this.#p.agent?.ended(reporter.billingId);
    const timer = setTimeout(() => {
      reporter.outbox.close();
      if (this.#reporters.get(sessionId) === reporter) this.#reporters.delete(sessionId);
    }, this.#p.flushMs ?? 86_400_000);
    timer.unref();
    await reporter.outbox.drained();
    clearTimeout(timer);
    if (this.#reporters.get(sessionId) === reporter) this.#reporters.delete(sessionId);
  }

  /** Stops every reporter (idempotent); the agent belongs to whoever made it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs) off();
    for (const gate of this.#gates.values()) gate.close();
    this.#gates.clear();
    await Promise.all([...this.#reporters.values()].map((r) => r.close()));
    this.#reporters.clear();
    for (const outbox of this.#replays) outbox.close();
    this.#replays.clear();
    this.#p.outboxFile?.file.close();
  }
}
