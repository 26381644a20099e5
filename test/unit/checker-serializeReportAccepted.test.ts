import fastJson from 'fast-json-stringify';
import { describe, expect, it } from 'vitest';
import type { ReportResult } from '../../checker/Checker.js';
import { serializeReportAccepted } from '../../checker/serializeReportAccepted.js';
import { ReportAccepted } from '../../protocol/checkerApi.js';

// The report route's hand-written serializer answers what the route's schema (ReportAccepted) would: the same
// fields, extra ones left out, optional ones only when set.
const bySchema = fastJson(ReportAccepted as unknown as Parameters<typeof fastJson>[0]);
const id = `0x${'ab'.repeat(32)}` as const;

const verdict = {
  minute: 3,
  billable: false,
  reasons: ['frames-lost', 'rtt'],
  disputes: [
    { kind: 'rtt', edge: 30, player: 90, decided: 90 },
    { kind: 'probe-rtt', edge: 30, player: 32, decided: 32, probe: 120 },
  ],
  contradiction: true,
  figures: { expectedFrames: 12, deliveredFrames: 4, freezeMs: 0, rttMs: 90, lossPpm: 500, probeRttMs: 120 },
  decidedAt: 1_800_000_000_000,
};
const attestation = {
  sessionId: id,
  grantHash: id,
  minutes: 7,
  policyHash: id,
  checker: `0x${'cd'.repeat(20)}` as const,
  signature: `0x${'ef'.repeat(65)}` as const,
};

describe('the report answer serializer', () => {
  const cases: [string, unknown][] = [
    ['pending', { minute: 0, role: 1, verdict: null, attestation: null }],
    ['decided, attested, every optional field', { minute: 3, role: 0, verdict, attestation }],
    [
      'decided without figures or probes',
      {
        minute: 4,
        role: 1,
        verdict: { ...verdict, figures: null, disputes: [{ kind: 'loss', edge: 1, player: 2, decided: 2 }] },
        attestation: null,
      },
    ],
    [
      'extra fields',
      {
        minute: 5,
        role: 0,
        verdict: { ...verdict, internal: 'x', figures: { ...verdict.figures, secret: 1 } },
        attestation: { ...attestation, privateKey: 'x' },
        extra: true,
      },
    ],
  ];
  for (const [name, result] of cases) {
    it(`answers as the schema would: ${name}`, () => {
      const mine = serializeReportAccepted(result as ReportResult);
      expect(JSON.parse(mine)).toEqual(JSON.parse(bySchema(result)));
      expect(mine).toBe(bySchema(result));
    });
  }
});
