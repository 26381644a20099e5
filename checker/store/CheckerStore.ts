import type { Hex } from 'viem';

/**
 * Where a checker keeps its sessions, the reports it accepted (each side's chain), its verdicts, its signed
 * cumulative attestations and the contradictions it found. Two implementations pass one contract suite
 * (test/integration/checker-store.test.ts): in-process (`createMemoryStore`) and Redis (`createRedisStore`, Lua
 * scripts so that several processes of one checker can share it). Every multi-step change is atomic.
 *
 * Values the store does not interpret (report, verdict, contradiction, probe) travel as JSON strings.
 */

/** A session as opened at the checker (its grant fixes the edge, the player's session key and the minutes). */
export interface CheckerSessionRecord {
  sessionId: Hex;
  /** The grant JSON (protocol/qosReport.ts GrantJson) as a string. */
  grantJson: string;
  grantSignature: Hex;
  grantHash: Hex;
  /** Unix ms the session was first opened at this checker; minute m closes at openedAt + (m + 1) * period. */
  openedAt: number;
  /** Keys of this session expire after this time (unix ms). */
  expiresAt: number;
}

/** One accepted report: `json` is the SignedQosReport with `receivedAt`. */
export interface StoredReport {
  role: 0 | 1;
  minute: number;
  /** The link's struct hash (lower-case hex): the chain hash. */
  hash: Hex;
  json: string;
}

/** The last report accepted from one side. */
export interface ChainHead {
  minute: number;
  hash: Hex;
}

/** What appending a report did. */
export type AppendResult =
  /** Stored; the other side's report of this minute is not in yet (its deadline is scheduled). */
  | { kind: 'pending' }
  /** Stored; the other side's report is in and the minute is undecided: decide it now. */
  | { kind: 'complete'; other: StoredReport }
  /** This very report was accepted before. */
  | { kind: 'replay' }
  /** Another report of this side for this minute was accepted before: nothing stored. */
  | { kind: 'equivocation'; existing: StoredReport }
  /** `prev` is not the side's chain head, or the minute does not advance: nothing stored. */
  | { kind: 'broken'; head: ChainHead | null }
  /** Stored as the chain's new head, but the minute was already decided. */
  | { kind: 'late' }
  | { kind: 'unknown' };

/** A due minute: its report deadline passed without both sides. */
export interface DueMinute {
  sessionId: Hex;
  minute: number;
}

/** What deciding a minute did. */
export interface DecideResult {
  /** False when the minute had been decided before (nothing changed). */
  decided: boolean;
  /** Billable minutes of the session after this verdict. */
  billableMinutes: number;
  /** True when this verdict raised the billable count (sign a new attestation). */
  counted: boolean;
}

/** Everything kept about one session: what `GET /v1/sessions/:id/evidence` serves. */
export interface SessionEvidence {
  session: CheckerSessionRecord;
  billableMinutes: number;
  /** Accepted reports, by minute then role; `late` ones arrived after the verdict. */
  reports: (StoredReport & { late: boolean })[];
  /** Verdict JSON strings by minute. */
  verdicts: { minute: number; json: string }[];
  /** Attestation signatures by cumulative minutes. */
  attestations: { minutes: number; signature: Hex }[];
  /** Contradiction JSON strings, in the order found. */
  contradictions: string[];
  /** The checker's own probes of the session's edge (checker/EdgeProber.ts) as JSON strings, in the order taken. */
  probes: string[];
}

/** Which store a checker runs on. */
export type CheckerStoreKind = 'memory' | 'redis';

export interface CheckerStore {
  readonly kind: CheckerStoreKind;
  /** Opens a session: 'exists' when the same grant is open already, 'conflict' for another grant. */
  openSession(record: CheckerSessionRecord): Promise<'ok' | 'exists' | 'conflict'>;
  getSession(sessionId: Hex): Promise<{ record: CheckerSessionRecord; billableMinutes: number } | null>;
  /**
   * Appends a report to its side's chain (`prev` must be the head's hash, or zero for the first) and, for the first
   * report of its minute, schedules the minute's deadline at `deadlineAt`.
   */
  appendReport(sessionId: Hex, report: StoredReport, prev: Hex, deadlineAt: number): Promise<AppendResult>;
  /** Both sides' reports of one minute (either may be missing). */
  minuteReports(sessionId: Hex, minute: number): Promise<{ edge?: StoredReport; player?: StoredReport }>;
  /** Records the verdict once (first writer wins), drops the deadline, counts it if billable (at most `maxMinutes`). */
  decideMinute(
    sessionId: Hex,
    minute: number,
    verdictJson: string,
    billable: boolean,
    maxMinutes: number,
  ): Promise<DecideResult>;
  /** Removes and returns up to `limit` minutes whose deadline is at or before `now`. */
  claimDue(now: number, limit: number): Promise<DueMinute[]>;
  putAttestation(sessionId: Hex, minutes: number, signature: Hex): Promise<void>;
  /** The attestation for exactly `minutes`, or the highest one when omitted. */
  getAttestation(sessionId: Hex, minutes?: number): Promise<{ minutes: number; signature: Hex } | null>;
  putContradiction(sessionId: Hex, json: string): Promise<void>;
  /** Appends one probe result of the session's edge (kept in order, with the session's lifetime). */
  putProbe(sessionId: Hex, json: string): Promise<void>;
  /** The session's probe results in the order kept (empty for an unknown session). */
  probes(sessionId: Hex): Promise<string[]>;
  evidence(sessionId: Hex): Promise<SessionEvidence | null>;
  close(): Promise<void>;
}

/** The zero hash: `prev` of a side's first report. */
export const ZERO_HASH: Hex = `0x${'0'.repeat(64)}`;
