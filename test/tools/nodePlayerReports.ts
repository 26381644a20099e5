import type { Address, Hex, LocalAccount } from 'viem';
import { QosRole, stakingDomain } from '../../protocol/eip712.js';
import { PeriodicQosReporter } from '../../protocol/PeriodicQosReporter.js';
import { QosOutbox, type QosOutboxEvent, type QosReportPost } from '../../protocol/QosOutbox.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import type { NodePlayer } from './NodePlayer.js';

export interface NodePlayerReportsParameters {
  player: NodePlayer;
  /** The session's id at its checkers (the grant's `sessionId`). */
  sessionId: Hex;
  /** The page's session key (the grant's `sessionKey`). */
  sessionKey: LocalAccount;
  checkers: readonly string[];
  /** The StakingRegistry the reports are signed for. */
  staking: { chainId: number; address: string };
  periodMs: number;
  /** Default: `postQosReport` (tests that withhold reports wrap it). */
  post?: QosReportPost;
  onEvent?: (event: QosOutboxEvent) => void;
}

/**
 * The page's side of billing for a Node player: a report per period signed with the session key (frames received
 * in the period, a good link otherwise), queued for every checker. `reporter.start()` starts the period clock.
 */
export function nodePlayerReports(p: NodePlayerReportsParameters): {
  reporter: PeriodicQosReporter;
  outbox: QosOutbox;
} {
  const outbox = new QosOutbox({
    checkers: p.checkers,
    ...(p.post ? { post: p.post } : {}),
    ...(p.onEvent ? { onEvent: p.onEvent } : {}),
  });
  let lastFrames = 0;
  const reporter = new PeriodicQosReporter({
    chain: new QosReportChain({
      sessionId: p.sessionId,
      role: QosRole.player,
      signer: p.sessionKey,
      domain: stakingDomain(p.staking.chainId, p.staking.address as Address),
    }),
    outbox,
    periodMs: p.periodMs,
    sample: () => {
      const frames = p.player.framesReceived - lastFrames;
      lastFrames = p.player.framesReceived;
      return {
        metrics: { frames, bitrateKbps: 0, encodeTimeUs: 0, rttMs: 5, jitterMs: 1, lossPpm: 0, freezeMs: 0 },
        detail: {},
      };
    },
  });
  return { reporter, outbox };
}
