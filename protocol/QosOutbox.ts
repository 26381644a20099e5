import { type ErrorCode, FarplayError } from './errors.js';
import { postQosReport } from './postQosReport.js';
import type { SignedQosReport } from './qosReport.js';

/** Sends one report to one checker; throws a FarplayError with the checker's code when refused. */
export type QosReportPost = (checkerUrl: string, report: SignedQosReport) => Promise<unknown>;

export interface QosOutboxParameters {
  /** The session's checkers (base URLs). */
  checkers: readonly string[];
  /** Default: `postQosReport` (fetch). */
  post?: QosReportPost;
  /** First retry delay, ms (default 250), doubled per failure up to `maxBackoffMs` (default 10 000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Told about every refusal that drops a report and every failed attempt (logging). */
  onEvent?: (event: QosOutboxEvent) => void;
  /** Where queued reports are kept until each checker took them (an edge's file); none = memory only. */
  journal?: QosOutboxJournal;
}

/**
 * Durable storage of an outbox's queue (the edge keeps an append-only file, edge/billing/QosOutboxFile.ts): every
 * report queued, and every report a checker took or refused for good, so a restarted process resends the rest in
 * order (`QosOutbox.resume`).
 */
export interface QosOutboxJournal {
  /** `report` was queued for `checkers`; returns the key `done` names it by. */
  queued(report: SignedQosReport, checkers: readonly string[]): number;
  /** The report `key` needs no more sending to `checker` (taken, or refused for good). */
  done(key: number, checker: string): void;
}

/** A report still owed to one checker, as a journal recovered it. */
export interface QosOutboxEntry {
  checker: string;
  key: number;
  report: SignedQosReport;
}

/** What happened to one report at one checker. */
export type QosOutboxEvent =
  | { kind: 'delivered'; checker: string; minute: number; answer: unknown }
  | { kind: 'retry'; checker: string; minute: number; code: ErrorCode; attempt: number; delayMs: number }
  | { kind: 'dropped'; checker: string; minute: number; code: ErrorCode };

/**
 * Checker answers after which resending the same report cannot help: it is recorded (replay, late), or it can never
 * be accepted (a bad signature, another session, past the grant). Anything else (unreachable, session not opened
 * yet, minute not closed yet, rate limited, the checker's own trouble) is retried with backoff.
 */
const FINAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CHECKER_REPLAY',
  'CHECKER_LATE',
  'CHECKER_EQUIVOCATION',
  'CHECKER_BAD_SIGNATURE',
  'CHECKER_BAD_REPORT',
  'CHECKER_WRONG_SESSION',
  'CHECKER_BEYOND_GRANT',
  'CHECKER_CHAIN_BROKEN',
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
]);

interface Queued {
  report: SignedQosReport;
  /** The journal's key (-1 without a journal). */
  key: number;
}

interface Lane {
  url: string;
  queue: Queued[];
  attempt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  running: boolean;
}

/**
 * One side's outgoing QoS reports of one session: an ordered queue per checker (the chain must arrive in order),
 * each report sent until the checker takes it or refuses it for good; a checker that is down or not ready is
 * retried with exponential backoff, and nothing queued is dropped for it. `close()` stops sending (what is still
 * queued stays readable through `pending`).
 */
export class QosOutbox {
  readonly #lanes: Lane[];
  readonly #post: QosReportPost;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #onEvent: (event: QosOutboxEvent) => void;
  readonly #journal: QosOutboxJournal | undefined;
  readonly #idle = new Set<() => void>();
  #closed = false;

  constructor(p: QosOutboxParameters) {
    this.#lanes = p.checkers.map((url) => ({ url, queue: [], attempt: 0, timer: undefined, running: false }));
    this.#post = p.post ?? ((url, report) => postQosReport(url, report));
    this.#backoffMs = p.backoffMs ?? 250;
    this.#maxBackoffMs = p.maxBackoffMs ?? 10_000;
    this.#onEvent = p.onEvent ?? (() => {});
    this.#journal = p.journal;
  }

  /** Reports not yet taken, per checker URL. */
  get pending(): Record<string, number> {
    return Object.fromEntries(this.#lanes.map((l) => [l.url, l.queue.length]));
  }

  /** Queues `report` for every checker and starts sending. */
  push(report: SignedQosReport): void {
    if (this.#closed) return;
    const key =
      this.#journal?.queued(
        report,
        this.#lanes.map((l) => l.url),
      ) ?? -1;
    for (const lane of this.#lanes) {
      lane.queue.push({ report, key });
      if (lane.timer === undefined) void this.#drain(lane);
    }
  }

  /**
   * Queues reports a journal kept from an earlier process, in the order given (the journal's), ahead of nothing
   * new, and starts sending; entries for a checker this outbox does not have are ignored.
   */
  resume(entries: readonly QosOutboxEntry[]): void {
    if (this.#closed) return;
    for (const entry of entries) {
      const lane = this.#lanes.find((l) => l.url === entry.checker);
      if (lane === undefined) continue;
      lane.queue.push({ report: entry.report, key: entry.key });
    }
    for (const lane of this.#lanes)
      if (lane.timer === undefined && lane.queue.length > 0) void this.#drain(lane);
  }

  /** Resolves when every queue is empty (or the outbox is closed). */
  drained(): Promise<void> {
    if (this.#closed || this.#lanes.every((l) => l.queue.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Sends whatever waits for a backoff now (e.g. when the checker is known to be back). */
  retryNow(): void {
    for (const lane of this.#lanes) {
      if (lane.timer !== undefined) {
        clearTimeout(lane.timer);
        lane.timer = undefined;
        void this.#drain(lane);
      }
    }
  }

  /** Stops sending (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const lane of this.#lanes) if (lane.timer !== undefined) clearTimeout(lane.timer);
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (!this.#closed && this.#lanes.some((l) => l.queue.length > 0)) return;
    for (const resolve of this.#idle) resolve();
    this.#idle.clear();
  }

  async #drain(lane: Lane): Promise<void> {
    if (lane.running) return;
    lane.running = true;
    try {
      while (!this.#closed && lane.queue.length > 0) {
        const { report, key } = lane.queue[0] as Queued;
        const minute = report.link.report.minute;
        try {
          const answer = await this.#post(lane.url, report);
          this.#onEvent({ kind: 'delivered', checker: lane.url, minute, answer });
        } catch (error) {
          const code: ErrorCode = error instanceof FarplayError ? error.code : 'INTERNAL';
          if (!FINAL.has(code)) {
            lane.attempt += 1;
            const delayMs = Math.min(this.#maxBackoffMs, this.#backoffMs * 2 ** (lane.attempt - 1));
            this.#onEvent({ kind: 'retry', checker: lane.url, minute, code, attempt: lane.attempt, delayMs });
            if (this.#closed) return;
            lane.timer = setTimeout(() => {
              lane.timer = undefined;
              void this.#drain(lane);
            }, delayMs);
            return;
          }
          this.#onEvent({ kind: 'dropped', checker: lane.url, minute, code });
        }
        lane.attempt = 0;
        lane.queue.shift();
        if (key >= 0) this.#journal?.done(key, lane.url);
      }
    } finally {
      lane.running = false;
      this.#notifyIdle();
    }
  }
}
