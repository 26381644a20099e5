import type { ReportBatchResult } from './checkerApi.js';
import { type ErrorCode, ErrorCodes, FarplayError } from './errors.js';
import { postQosReport } from './postQosReport.js';
import type { QosReportPost } from './QosOutbox.js';
import type { SignedQosReport } from './qosReport.js';

export interface QosBatchPostParameters {
  /** How long a report waits for others bound to the same checker before the request goes, ms (default 200). */
  windowMs?: number;
  /** Most reports per request (default 100; a checker takes up to 512). */
  maxBatch?: number;
  /** Per request, ms (default 5 000). */
  timeoutMs?: number;
  /** How one report is sent where batches are not taken (default `postQosReport`). */
  single?: QosReportPost;
}

interface Waiting {
  report: SignedQosReport;
  resolve: (answer: unknown) => void;
  reject: (error: unknown) => void;
}

interface Lane {
  waiting: Waiting[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * A `QosReportPost` that gathers the reports bound to one checker within `windowMs` (an edge's reports of its
 * sessions' periods) and sends them as one `POST /v1/reports/batch`, one request instead of one per session. Each
 * caller gets its own report's answer, or a FarplayError with its own code, exactly as from the single route, so a
 * `QosOutbox` behind it keeps its order and retry rules. A checker without the batch route (`NOT_FOUND`: an older
 * one) is sent single reports from then on; a batch refused as a whole for its size or shape is resent item by
 * item; a checker unreachable or refusing for a passing reason (rate limit, its own trouble) fails every item with
 * that code, which the outbox retries.
 */
export class QosBatchPost {
  readonly #windowMs: number;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  readonly #single: QosReportPost;
  readonly #lanes = new Map<string, Lane>();
  /** Checkers that answered the batch route with NOT_FOUND. */
  readonly #singleOnly = new Set<string>();

  constructor(p: QosBatchPostParameters = {}) {
    this.#windowMs = p.windowMs ?? 200;
    this.#maxBatch = p.maxBatch ?? 100;
    this.#timeoutMs = p.timeoutMs ?? 5000;
    this.#single = p.single ?? ((url, report) => postQosReport(url, report, this.#timeoutMs));
  }

  /** The `QosReportPost` to give the outboxes (one `QosBatchPost` for all of an edge's sessions). */
  readonly post: QosReportPost = (checkerUrl, report) => {
    const url = checkerUrl.replace(/\/$/, '');
    if (this.#singleOnly.has(url)) return this.#single(checkerUrl, report);
    return new Promise((resolve, reject) => {
      let lane = this.#lanes.get(url);
      if (lane === undefined) {
        lane = { waiting: [], timer: undefined };
        this.#lanes.set(url, lane);
      }
      lane.waiting.push({ report, resolve, reject });
      if (lane.waiting.length >= this.#maxBatch) this.#flush(url, lane);
      else if (lane.timer === undefined) {
        lane.timer = setTimeout(() => this.#flush(url, lane as Lane), this.#windowMs);
      }
    });
  };

  #flush(url: string, lane: Lane): void {
    if (lane.timer !== undefined) clearTimeout(lane.timer);
    lane.timer = undefined;
    const batch = lane.waiting.splice(0, this.#maxBatch);
    if (lane.waiting.length > 0) lane.timer = setTimeout(() => this.#flush(url, lane), 0);
    else this.#lanes.delete(url);
    if (batch.length > 0) void this.#send(url, batch);
  }

  async #send(url: string, batch: Waiting[]): Promise<void> {
    let results: ReportBatchResult[];
    try {
      results = await this.#request(url, batch);
    } catch (error) {
      const code = error instanceof FarplayError ? error.code : 'INTERNAL';
      if (code === 'NOT_FOUND') this.#singleOnly.add(url);
      if (code === 'NOT_FOUND' || code === 'BAD_REQUEST' || code === 'PAYLOAD_TOO_LARGE') {
        // Not a batch this checker takes: each report on its own, in order (each keeps its own answer).
        for (const w of batch) await this.#single(url, w.report).then(w.resolve, w.reject);
        return;
      }
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => {
      const r = results[i];
      if (r !== undefined && 'accepted' in r) w.resolve(r.accepted);
      else if (r !== undefined && 'error' in r) {
        const code = (r.error.code in ErrorCodes ? r.error.code : 'INTERNAL') as ErrorCode;
        w.reject(new FarplayError(code, r.error.message, { details: r.error.details }));
      } else w.reject(new FarplayError('INTERNAL', `checker ${url} answered no result for a batch item`));
    });
  }

  async #request(url: string, batch: readonly Waiting[]): Promise<ReportBatchResult[]> {
    let res: Response;
    try {
      res = await fetch(`${url}/v1/reports/batch`, {
        method: 'POST',
        body: JSON.stringify({ reports: batch.map((w) => w.report) }),
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      throw new FarplayError('INTERNAL', `checker ${url} unreachable`, { cause });
    }
    const json = (await res.json().catch(() => ({}))) as {
      results?: ReportBatchResult[];
      code?: string;
      message?: string;
    };
    if (!res.ok || !Array.isArray(json.results)) {
      const code = (json.code !== undefined && json.code in ErrorCodes ? json.code : 'INTERNAL') as ErrorCode;
      throw new FarplayError(code, json.message ?? `batch answered ${res.status}`);
    }
    return json.results;
  }
}
