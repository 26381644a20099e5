import type { Hex } from 'viem';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import type { ErrorCode } from '../../protocol/errors.js';

/** What the gate controls: the session's stream (edge/session/StreamSession.ts `pause` / `resume`). */
export interface GatedStream {
  pause(code: ErrorCode): void;
  resume(): void;
}

/** What the gate asks one checker. */
interface GateChecker {
  /** The edge and price the session's open grant names, or undefined when the checker has no such session. */
  grant(sessionId: Hex): Promise<{ edge: string; pricePerMinute: bigint } | undefined>;
  /** True when the checker holds the player's report of `minute`. */
  hasPlayerReport(sessionId: Hex, minute: number): Promise<boolean>;
}

export interface BillingGateParameters {
  stream: GatedStream;
  /** The session's id on chain and at its checkers. */
  sessionId: Hex;
  /** The session's checkers (from its token) and how many decide. */
  checkers: readonly string[];
  quorum: number;
  /** This edge's node address: the grant must name it. */
  edge: string;
  /** This edge's own price, ATH wei per minute: a grant paying less does not count (default 0). */
  minPricePerMinute?: bigint;
  /** How long the session may stream (from now) before a grant naming this edge is open at a quorum, ms. */
  grantGraceMs: number;
  /** How long after the edge closes a period the player's report of it may take to reach a quorum, ms. */
  reportDeadlineMs: number;
  /** How often the checkers are asked while the gate waits for something, ms (default 500). */
  pollMs?: number;
}

/**
 * A billed session's gate (issue 9): the operator streams only while it can be paid. It asks the session's
 * checkers — never the page — whether a grant naming this edge at no less than its price is open (within `grantGraceMs` of the session's
 * start) and whether the player's report of each period reached a quorum (within `reportDeadlineMs` of the
 * period's close). When either is missing the stream is paused (`EDGE_GRANT_REQUIRED`,
 * `EDGE_PLAYER_REPORTS_MISSING`) with the connection kept, and resumed as soon as the checkers have it, so an
 * operator streams at most about two unpaid periods to a player who withholds reports.
 */
export class BillingGate {
  readonly #p: BillingGateParameters;
  readonly #clients: GateChecker[];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #poll: NodeJS.Timeout;
  #granted = false;
  #graceOver = false;
  /** The last period whose report deadline passed, and the last one a quorum confirmed. */
  #due = -1;
  #confirmed = -1;
  #asking = false;
  #closed = false;

  constructor(p: BillingGateParameters) {
    this.#p = p;
    this.#clients = p.checkers.map((url) => httpGateChecker(url));
    this.#after(p.grantGraceMs, () => {
      this.#graceOver = true;
      this.#apply();
    });
    this.#poll = setInterval(() => void this.#ask(), p.pollMs ?? 500);
    this.#poll.unref();
    void this.#ask();
  }

  /** True once a quorum has the grant naming this edge. */
  get granted(): boolean {
    return this.#granted;
  }

  /** The edge closed period `minute`: its player report is due `reportDeadlineMs` from now. */
  periodClosed(minute: number): void {
    this.#after(this.#p.reportDeadlineMs, () => {
      if (minute <= this.#due) return;
      this.#due = minute;
      void this.#ask();
    });
  }

  #after(ms: number, run: () => void): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closed) run();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  async #ask(): Promise<void> {
    if (this.#closed || this.#asking) return;
    this.#asking = true;
    try {
      const { sessionId, quorum } = this.#p;
      if (!this.#granted) {
        const edge = this.#p.edge.toLowerCase();
        const floor = this.#p.minPricePerMinute ?? 0n;
        const yes = await this.#count((c) =>
          c.grant(sessionId).then((g) => g?.edge.toLowerCase() === edge && g.pricePerMinute >= floor),
        );
        // Periods closed before the grant was open could not be reported (the checkers had no session): forgiven.
        if (yes >= quorum) {
          this.#granted = true;
          this.#confirmed = Math.max(this.#confirmed, this.#due);
        }
      }
      const minute = this.#due;
      if (this.#granted && minute > this.#confirmed) {
        const yes = await this.#count((c) => c.hasPlayerReport(sessionId, minute));
        if (yes >= quorum && minute > this.#confirmed) this.#confirmed = minute;
      }
    } finally {
      this.#asking = false;
    }
    this.#apply();
  }

  /** How many checkers answer yes (an unreachable one counts as no). */
  async #count(ask: (c: GateChecker) => Promise<boolean>): Promise<number> {
    const answers = await Promise.allSettled(this.#clients.map(ask));
    return answers.filter((a) => a.status === 'fulfilled' && a.value).length;
  }

  #apply(): void {
    if (this.#closed) return;
    if (!this.#granted && this.#graceOver) this.#p.stream.pause('EDGE_GRANT_REQUIRED');
    else if (this.#granted && this.#confirmed < this.#due)
      this.#p.stream.pause('EDGE_PLAYER_REPORTS_MISSING');
    else if (this.#granted) this.#p.stream.resume();
  }

  /** Stops asking (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

/** A checker asked over HTTP; a short timeout, since the gate asks again soon. */
function httpGateChecker(url: string): GateChecker {
  const client = new CheckerClient(url, 2000);
  return {
    grant: (sessionId) =>
      client.grant(sessionId).then(
        (g) => ({ edge: g.grant.edge, pricePerMinute: BigInt(g.grant.pricePerMinute) }),
        () => undefined,
      ),
    hasPlayerReport: (sessionId, minute) => client.minuteReports(sessionId, minute).then((r) => r.player),
  };
}
