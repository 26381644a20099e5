import type { Address, Hex, LocalAccount, TypedDataDomain } from 'viem';
import { type Grant, type QosLink, type RefutedSlashOrder, refutedSlashTypes } from '../protocol/eip712.js';
import { FarplayError } from '../protocol/errors.js';
import { evaluateMinute } from '../protocol/evaluateMinute.js';
import { bytesHex, hashQosLink } from '../protocol/hashQosLink.js';
import type { QosPolicy } from '../protocol/qosPolicy.js';
import type { SignedQosReport } from '../protocol/qosReport.js';
import type { StoredReport } from './store/CheckerStore.js';

/** What `describeRefutation` needs: the session, the minute's two stored reports and the slashing terms. */
export interface DescribeRefutationParameters {
  sessionId: Hex;
  grant: Grant;
  minute: number;
  edge: StoredReport | undefined;
  player: StoredReport | undefined;
  policy: QosPolicy;
  /** Share of the edge's pool the order asks for, bps (1..10 000). */
  bps: number;
  /** Seconds after the grant's expiry the order stays executable. */
  slashWindowS: number;
  /** Who submits the order and is paid the finder share (a checker). */
  finder: Address;
  /** The checker's key, which signs the order. */
  account: LocalAccount;
  stakingDomain: TypedDataDomain;
}

/** A checker's signed RefutedSlash order with the evidence `StakingRegistry.slashRefuted` takes. */
export interface SignedRefutedSlash {
  /** The order, `deadline` as a decimal string (JSON). */
  order: Omit<RefutedSlashOrder, 'deadline'> & { deadline: string };
  evidence: {
    edge: { report: QosLink['report']; signature: Hex };
    player: { link: QosLink; signature: Hex };
  };
  checker: Address;
  signature: Hex;
}

/**
 * The RefutedSlash order for a minute whose edge claim the player's signed report refutes, signed by this checker.
 * It decides from its own stored reports with the one evaluator (so a peer asked to co-sign checks the refutation
 * itself, never trusting the asker); every field comes from the grant, the reports, the config and the finder
 * named, none from a clock, so every checker holding the same reports signs the same order.
 */
export async function describeRefutation(p: DescribeRefutationParameters): Promise<SignedRefutedSlash> {
  if (p.edge === undefined || p.player === undefined) {
    throw new FarplayError('CHECKER_NOT_REFUTED', 'this checker does not hold both reports of the minute', {
      details: { minute: p.minute, edge: p.edge !== undefined, player: p.player !== undefined },
    });
  }
  const edge = JSON.parse(p.edge.json) as SignedQosReport;
  const player = JSON.parse(p.player.json) as SignedQosReport;
  const verdict = evaluateMinute({
    policy: p.policy,
    minute: p.minute,
    edge: { metrics: edge.link.report.metrics, detail: edge.link.detail },
    player: { metrics: player.link.report.metrics, detail: player.link.detail },
  });
  if (!verdict.contradiction || edge.reportSignature === undefined) {
    throw new FarplayError('CHECKER_NOT_REFUTED', undefined, { details: { minute: p.minute } });
  }
  const order: RefutedSlashOrder = {
    edge: p.grant.edge,
    sessionId: p.sessionId,
    minute: p.minute,
    bps: p.bps,
    player: p.grant.player,
    sessionKey: p.grant.sessionKey,
    finder: p.finder,
    deadline: p.grant.expiry + BigInt(p.slashWindowS),
    edgeReport: bytesHex(hashQosLink(edge.link as QosLink).report),
    playerReport: p.player.hash,
  };
  const signature = await p.account.signTypedData({
    domain: p.stakingDomain,
    types: refutedSlashTypes,
    primaryType: 'RefutedSlash',
    message: order,
  });
  return {
    order: { ...order, deadline: order.deadline.toString() },
    evidence: {
      edge: { report: edge.link.report as QosLink['report'], signature: edge.reportSignature as Hex },
      player: { link: player.link as QosLink, signature: player.linkSignature as Hex },
    },
    checker: p.account.address,
    signature,
  };
}
