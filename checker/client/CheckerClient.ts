import type { Hex } from 'viem';
import type { MinuteReports, ReportBatchResult } from '../../protocol/checkerApi.js';
import { type ErrorCode, ErrorCodes, FarplayError } from '../../protocol/errors.js';
import type { QosPolicy } from '../../protocol/qosPolicy.js';
import type { GrantJson, SignedQosReport } from '../../protocol/qosReport.js';
import type { DecidedVerdict, SignedAttestationRecord } from '../Checker.js';
import type { SignedRefutedSlash } from '../describeRefutation.js';
import type { SignedAttestationBatch } from '../signAttestationBatch.js';

/** What a checker answers to a report: the minute's verdict and attestation once both sides are in. */
export interface ReportAnswer {
  minute: number;
  role: number;
  verdict: DecidedVerdict | null;
  attestation: SignedAttestationRecord | null;
}

/** What a checker answers to `GET /v1/sessions/:id/verdicts`. */
export interface SessionVerdicts {
  checker: Hex;
  sessionId: Hex;
  billableMinutes: number;
  policy: QosPolicy;
  policyHash: Hex;
  verdicts: DecidedVerdict[];
}

/**
 * HTTP client of one checker (for edges, players, settlement agents, tests and the bench). Error answers become
 * FarplayErrors with the checker's code; an unreachable checker is `INTERNAL` with the cause.
 */
export class CheckerClient {
  readonly url: string;
  readonly #timeoutMs: number;

  /** `url`: the checker's base URL; `timeoutMs`: per request (default 5 s). */
  constructor(url: string, timeoutMs = 5000) {
    this.url = url.replace(/\/$/, '');
    this.#timeoutMs = timeoutMs;
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new FarplayError('INTERNAL', `checker ${this.url} unreachable`, { cause });
    }
    const json = (await res.json().catch(() => ({}))) as {
      code?: string;
      message?: string;
      details?: unknown;
    };
    if (!res.ok) {
      const code = (json.code !== undefined && json.code in ErrorCodes ? json.code : 'INTERNAL') as ErrorCode;
      throw new FarplayError(code, json.message, { details: json.details });
    }
    return json as T;
  }

  /** Opens the session with the player's signed grant (idempotent). */
  openSession(grant: GrantJson, grantSignature: Hex) {
    return this.#call<{ sessionId: Hex; openedAt: number; billableMinutes: number }>('POST', '/v1/sessions', {
      grant,
      grantSignature,
    });
  }

  /** Posts one side's signed report of one minute. */
  report(sessionId: Hex, report: SignedQosReport): Promise<ReportAnswer> {
    return this.#call('POST', `/v1/sessions/${sessionId}/reports`, report);
  }

  /**
   * Posts several signed reports in one request (`POST /v1/reports/batch`), each for the session it names, taken in
   * order; one result per report: `{ accepted }` (what `report` answers) or `{ error }` (its catalogue code).
   */
  async reportBatch(reports: readonly SignedQosReport[]): Promise<ReportBatchResult[]> {
    return (await this.#call<{ results: ReportBatchResult[] }>('POST', '/v1/reports/batch', { reports }))
      .results;
  }

  /** The checker's signed attestation for exactly `minutes` (or its highest); null when it has none. */
  async attestation(sessionId: Hex, minutes?: number): Promise<SignedAttestationRecord | null> {
    try {
      return await this.#call(
        'GET',
        `/v1/sessions/${sessionId}/attestation${minutes ? `?minutes=${minutes}` : ''}`,
      );
    } catch (error) {
      if (error instanceof FarplayError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  /** This checker's signature over several sessions' minutes (AttestationBatch), for `batchSettle`. */
  attestBatch(sessions: readonly { sessionId: Hex; minutes: number }[]): Promise<SignedAttestationBatch> {
    return this.#call('POST', '/v1/attestations/batch', { sessions });
  }

  /** The grant the session was opened with, and the player's signature over it. */
  grant(sessionId: Hex): Promise<{ grant: GrantJson; grantSignature: Hex }> {
    return this.#call('GET', `/v1/sessions/${sessionId}/grant`);
  }

  /** Which sides' reports of `minute` the checker holds (late ones included). */
  minuteReports(sessionId: Hex, minute: number): Promise<MinuteReports> {
    return this.#call('GET', `/v1/sessions/${sessionId}/minutes/${minute}`);
  }

  /** Everything behind the session's verdicts (see checker/README.md). */
  evidence(sessionId: Hex): Promise<Record<string, unknown>> {
    return this.#call('GET', `/v1/sessions/${sessionId}/evidence`);
  }

  /** The session's verdicts from minute `since` on (default all), with the policy this checker applies. */
  verdicts(sessionId: Hex, since = 0): Promise<SessionVerdicts> {
    return this.#call('GET', `/v1/sessions/${sessionId}/verdicts${since > 0 ? `?since=${since}` : ''}`);
  }

  /** The checker's signed RefutedSlash order for `minute` naming `finder`, with the evidence (CHECKER_NOT_REFUTED). */
  refutedSlashOrder(sessionId: Hex, minute: number, finder: Hex): Promise<SignedRefutedSlash> {
    return this.#call('POST', `/v1/sessions/${sessionId}/minutes/${minute}/refuted-slash`, { finder });
  }

  health(): Promise<{ ok: boolean; checker: Hex; policyHash: Hex; periodMs: number; store: string }> {
    return this.#call('GET', '/v1/health');
  }
}
