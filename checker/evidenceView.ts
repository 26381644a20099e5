import type { Address, Hex } from 'viem';
import type { QosPolicy } from '../protocol/qosPolicy.js';
import type { GrantJson } from '../protocol/qosReport.js';
import type { CheckerChains, DecidedVerdict } from './checkerTypes.js';
import type { SessionEvidence } from './store/CheckerStore.js';

/** What `GET /v1/sessions/:id/evidence` serves: the stored evidence parsed, with the policy and chains it is bound to. */
export function evidenceView(
  e: SessionEvidence,
  c: { checker: Address; policy: QosPolicy; policyHash: Hex; chains: CheckerChains },
) {
  return {
    checker: c.checker,
    policy: c.policy,
    policyHash: c.policyHash,
    escrow: c.chains.escrow,
    staking: c.chains.staking,
    session: {
      sessionId: e.session.sessionId,
      grant: JSON.parse(e.session.grantJson) as GrantJson,
      grantSignature: e.session.grantSignature,
      grantHash: e.session.grantHash,
      openedAt: e.session.openedAt,
    },
    billableMinutes: e.billableMinutes,
    reports: e.reports.map((r) => ({
      minute: r.minute,
      role: r.role,
      hash: r.hash,
      late: r.late,
      ...JSON.parse(r.json),
    })),
    verdicts: e.verdicts.map((v) => JSON.parse(v.json) as DecidedVerdict),
    attestations: e.attestations,
    contradictions: e.contradictions.map((c) => JSON.parse(c) as unknown),
    probes: e.probes.map((p) => JSON.parse(p) as unknown),
  };
}
