import { type Hex, type LocalAccount, type TypedDataDomain, zeroAddress } from 'viem';
import { type Grant, QosRole, type SlashOrder, slashTypes } from '../protocol/eip712.js';
import { bytesHex, hashQosLink } from '../protocol/hashQosLink.js';
import type { SignedQosReport } from '../protocol/qosReport.js';
import type { StoredReport } from './store/CheckerStore.js';

/** What `describeEquivocation` needs: the session, the two reports for one minute, and the slashing terms. */
export interface DescribeEquivocationParameters {
  sessionId: Hex;
  grant: Grant;
  existing: StoredReport;
  offered: StoredReport;
  /** Share of the edge's pool a slash takes, in basis points (0 = record only, no slash order). */
  slashBps: number;
  /** Seconds after the grant's expiry a slash order stays executable. */
  slashWindowS: number;
  /** The checker's key, which signs the slash order. */
  account: LocalAccount;
  stakingDomain: TypedDataDomain;
  now: number;
}

/** A recorded contradiction: both reports, whether it is slashable, and the checker's signed slash order if so. */
export interface Equivocation {
  kind: 'equivocation';
  role: number;
  minute: number;
  foundAt: number;
  slashable: boolean;
  reports: [unknown, unknown];
  slash?: unknown;
}

/**
 * Two different signed reports from one side for one minute. An edge's pair with different metrics is slashing
 * evidence in the StakingRegistry's format; the checker signs the slash order, whose every field comes from the
 * grant and the policy (never a checker's clock), so that every checker signs the same order.
 */
export async function describeEquivocation(p: DescribeEquivocationParameters): Promise<Equivocation> {
  const a = JSON.parse(p.existing.json) as SignedQosReport & { receivedAt: number };
  const b = JSON.parse(p.offered.json) as SignedQosReport & { receivedAt: number };
  const metricsA = bytesHex(hashQosLink(a.link).metrics);
  const metricsB = bytesHex(hashQosLink(b.link).metrics);
  const slashable = p.offered.role === QosRole.edge && metricsA !== metricsB;
  const contradiction: Equivocation = {
    kind: 'equivocation',
    role: p.offered.role,
    minute: p.offered.minute,
    foundAt: p.now,
    slashable,
    reports: [a, b],
  };
  if (slashable && p.slashBps > 0) {
    // The finder is the affected player.
    const order: SlashOrder = {
      edge: p.grant.edge,
      sessionId: p.sessionId,
      minute: p.offered.minute,
      bps: p.slashBps,
      player: p.grant.player,
      finder: p.grant.player === zeroAddress ? p.grant.edge : p.grant.player,
      deadline: p.grant.expiry + BigInt(p.slashWindowS),
    };
    const signature = await p.account.signTypedData({
      domain: p.stakingDomain,
      types: slashTypes,
      primaryType: 'Slash',
      message: order,
    });
    contradiction.slash = {
      order: { ...order, deadline: order.deadline.toString() },
      evidence: [
        { metricsHash: metricsA, signature: a.reportSignature, report: a.link.report },
        { metricsHash: metricsB, signature: b.reportSignature, report: b.link.report },
      ],
      checker: p.account.address,
      signature,
    };
  }
  return contradiction;
}
