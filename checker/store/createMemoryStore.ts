import type { Hex } from 'viem';
import {
  type AppendResult,
  type ChainHead,
  type CheckerSessionRecord,
  type CheckerStore,
  type DecideResult,
  type DueMinute,
  type SessionEvidence,
  type StoredReport,
  ZERO_HASH,
} from './CheckerStore.js';

interface MemorySession {
  record: CheckerSessionRecord;
  billable: number;
  heads: [ChainHead | null, ChainHead | null];
  reports: Map<string, StoredReport & { late: boolean }>;
  verdicts: Map<number, string>;
  attestations: Map<number, Hex>;
  contradictions: string[];
  probes: string[];
}

/** The in-process checker store (one process; lost on exit). Sessions past `expiresAt` are dropped lazily. */
export function createMemoryStore(now: () => number = Date.now): CheckerStore {
  const sessions = new Map<string, MemorySession>();
  const deadlines = new Map<string, number>();
  let closed = false;

  const live = (sessionId: Hex): MemorySession | undefined => {
    const s = sessions.get(sessionId.toLowerCase());
    if (s !== undefined && s.record.expiresAt <= now()) {
      sessions.delete(sessionId.toLowerCase());
      return undefined;
    }
    return s;
  };
  const member = (sessionId: Hex, minute: number) => `${sessionId.toLowerCase()}|${minute}`;

  return {
    kind: 'memory',
    async openSession(record) {
      const existing = live(record.sessionId);
      if (existing !== undefined) {
        return existing.record.grantHash.toLowerCase() === record.grantHash.toLowerCase()
          ? 'exists'
          : 'conflict';
      }
      sessions.set(record.sessionId.toLowerCase(), {
        record: { ...record },
        billable: 0,
        heads: [null, null],
        reports: new Map(),
        verdicts: new Map(),
        attestations: new Map(),
        contradictions: [],
        probes: [],
      });
      return 'ok';
    },
    async getSession(sessionId) {
      const s = live(sessionId);
      return s === undefined ? null : { record: { ...s.record }, billableMinutes: s.billable };
    },
    async appendReport(sessionId, report, prev, deadlineAt): Promise<AppendResult> {
      const s = live(sessionId);
      if (s === undefined) return { kind: 'unknown' };
      const key = `${report.minute}:${report.role}`;
      const existing = s.reports.get(key);
      if (existing !== undefined) {
        if (existing.hash === report.hash.toLowerCase()) return { kind: 'replay' };
        return { kind: 'equivocation', existing: strip(existing) };
      }
      const head = s.heads[report.role];
      const prevOk = head === null ? prev.toLowerCase() === ZERO_HASH : prev.toLowerCase() === head.hash;
      if (!prevOk || (head !== null && report.minute <= head.minute)) return { kind: 'broken', head };
      const hash = report.hash.toLowerCase() as Hex;
      s.heads[report.role] = { minute: report.minute, hash };
      const late = s.verdicts.has(report.minute);
      s.reports.set(key, { ...report, hash, late });
      if (late) return { kind: 'late' };
      const other = s.reports.get(`${report.minute}:${1 - report.role}`);
      if (other !== undefined) return { kind: 'complete', other: strip(other) };
      const m = member(sessionId, report.minute);
      if (!deadlines.has(m)) deadlines.set(m, deadlineAt);
      return { kind: 'pending' };
    },
    async minuteReports(sessionId, minute) {
      const s = live(sessionId);
      const out: { edge?: StoredReport; player?: StoredReport } = {};
      const edge = s?.reports.get(`${minute}:0`);
      const player = s?.reports.get(`${minute}:1`);
      if (edge !== undefined) out.edge = strip(edge);
      if (player !== undefined) out.player = strip(player);
      return out;
    },
    async decideMinute(sessionId, minute, verdictJson, billable, maxMinutes): Promise<DecideResult> {
      const s = live(sessionId);
      if (s === undefined || s.verdicts.has(minute)) {
        return { decided: false, billableMinutes: s?.billable ?? 0, counted: false };
      }
      s.verdicts.set(minute, verdictJson);
      deadlines.delete(member(sessionId, minute));
      const counted = billable && s.billable < maxMinutes;
      if (counted) s.billable += 1;
      return { decided: true, billableMinutes: s.billable, counted };
    },
    async claimDue(at, limit): Promise<DueMinute[]> {
      const due: DueMinute[] = [];
      for (const [m, deadline] of deadlines) {
        if (due.length >= limit) break;
        if (deadline > at) continue;
        deadlines.delete(m);
        const [sessionId, minute] = m.split('|') as [string, string];
        due.push({ sessionId: sessionId as Hex, minute: Number(minute) });
      }
      return due;
    },
    async putAttestation(sessionId, minutes, signature) {
      live(sessionId)?.attestations.set(minutes, signature);
    },
    async getAttestation(sessionId, minutes) {
      const s = live(sessionId);
      if (s === undefined) return null;
      const m = minutes ?? Math.max(0, ...s.attestations.keys());
      const signature = s.attestations.get(m);
      return signature === undefined ? null : { minutes: m, signature };
    },
    async putContradiction(sessionId, json) {
      live(sessionId)?.contradictions.push(json);
    },
    async putProbe(sessionId, json) {
      live(sessionId)?.probes.push(json);
    },
    async probes(sessionId) {
      return [...(live(sessionId)?.probes ?? [])];
    },
    async evidence(sessionId): Promise<SessionEvidence | null> {
      const s = live(sessionId);
      if (s === undefined) return null;
      return {
        session: { ...s.record },
        billableMinutes: s.billable,
        reports: [...s.reports.values()].sort((a, b) => a.minute - b.minute || a.role - b.role),
        verdicts: [...s.verdicts.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([minute, json]) => ({ minute, json })),
        attestations: [...s.attestations.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([minutes, signature]) => ({ minutes, signature })),
        contradictions: [...s.contradictions],
        probes: [...s.probes],
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      sessions.clear();
      deadlines.clear();
    },
  };
}

function strip(r: StoredReport & { late?: boolean }): StoredReport {
  return { role: r.role, minute: r.minute, hash: r.hash, json: r.json };
}
