import type { ReportResult } from './Checker.js';

/**
 * The `ReportAccepted` answer (protocol/checkerApi.ts) of a report as JSON: exactly the schema's fields, built by
 * hand. fastify's schema serializer validates both branches of each nullable union per answer; this is the
 * checker's hottest route.
 */
export function serializeReportAccepted(payload: unknown): string {
  const r = payload as ReportResult;
  const v = r.verdict;
  const a = r.attestation;
  return JSON.stringify({
    minute: r.minute,
    role: r.role,
    verdict:
      v === null
        ? null
        : {
            minute: v.minute,
            billable: v.billable,
            reasons: v.reasons,
            disputes: v.disputes.map((d) => ({
              kind: d.kind,
              edge: d.edge,
              player: d.player,
              decided: d.decided,
              probe: d.probe, // undefined: left out
            })),
            contradiction: v.contradiction,
            figures:
              v.figures === null
                ? null
                : {
                    expectedFrames: v.figures.expectedFrames,
                    deliveredFrames: v.figures.deliveredFrames,
                    freezeMs: v.figures.freezeMs,
                    rttMs: v.figures.rttMs,
                    lossPpm: v.figures.lossPpm,
                    probeRttMs: v.figures.probeRttMs, // undefined: left out
                  },
            decidedAt: v.decidedAt,
          },
    attestation:
      a === null
        ? null
        : {
            sessionId: a.sessionId,
            grantHash: a.grantHash,
            minutes: a.minutes,
            policyHash: a.policyHash,
            checker: a.checker,
            signature: a.signature,
          },
  });
}
