import { BILLING_RUN_LENGTH, billingRunId } from '../protocol/billingSession.js';

/**
 * Hands out on-chain billing session ids in runs of `BILLING_RUN_LENGTH` per edge (`billingRunId`): a session
 * allocated to an edge takes the next lane of that edge's open run, or opens a new run named by its own (fresh,
 * random) session id. The sessions of a run share one SessionEscrow ledger word of their edge, so settling them
 * writes a fresh storage word once per run instead of once per session. Lanes are taken here only, once each;
 * a run another instance (or an earlier process) left unfinished just leaves lanes unused.
 */
export class BillingRuns {
  readonly #runs = new Map<string, { runSid: string; next: number }>();
  readonly #maxEdges: number;

  /** `maxEdges`: how many edges' open runs are kept (the oldest run is dropped past it; default 100,000). */
  constructor(maxEdges = 100_000) {
    this.#maxEdges = maxEdges;
  }

  /** The on-chain id of session `sessionId` on `edgeId`. */
  next(edgeId: string, sessionId: string): `0x${string}` {
    const edge = edgeId.toLowerCase();
    let run = this.#runs.get(edge);
    if (run === undefined || run.next >= BILLING_RUN_LENGTH) {
      this.#runs.delete(edge);
      run = { runSid: sessionId, next: 0 };
      this.#runs.set(edge, run);
      if (this.#runs.size > this.#maxEdges) {
        const oldest = this.#runs.keys().next().value;
        if (oldest !== undefined) this.#runs.delete(oldest);
      }
    }
    return billingRunId(run.runSid, run.next++);
  }
}
