import type { Logger } from 'pino';
import type { Address } from 'viem';
import { localChain } from '../../contracts-client/src/chains.js';
import { readCheckerSet } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { stakingDomain } from '../../protocol/eip712.js';
import type { QosPeriodFigures } from '../../protocol/PeriodicQosReporter.js';
import type { Edge } from '../Edge.js';
import { EdgeBilling } from './EdgeBilling.js';
import { QosOutboxFile } from './QosOutboxFile.js';
import { readEarnings } from './readEarnings.js';
import { SettlementAgent } from './SettlementAgent.js';

export interface StartEdgeBillingParameters {
  edge: Edge;
  logger: Logger;
  /** The published policy's period and report grace, ms (the checkers' settings). */
  periodMs: number;
  reportGraceMs: number;
  /** The StakingRegistry (the QoS reports' EIP-712 domain). */
  staking: { chainId: number; address: Address };
  /** The payments chain and its SessionEscrow (also its checker config). */
  payments: { chainId: number; rpcUrl: string; escrow: Address };
  /** A settlement round at least this often, ms (default hourly). */
  settleEveryMs?: number;
  /** Periods not to report, per session (operators, tests). */
  withhold?: (sessionId: string, minute: number) => boolean;
  /**
   * TEST ONLY — never set in a running network: rewrites, per billing session id, the figures of each period before they are signed, so a
   * test can play a lying edge (e.g. inflated frames, which the player's report then refutes and the checkers
   * slash). There is no config or environment switch for it; only code that builds the billing can pass it.
   */
  reportTransform?: (billingId: string, minute: number, figures: QosPeriodFigures) => QosPeriodFigures;
  /**
   * A session streams this long (from its first frame) without a grant naming this edge at a quorum of its checkers before it is paused,
   * ms (default 15 000). The player's report of a period must reach a quorum within `reportGraceMs` of its close.
   */
  grantGraceMs?: number;
  /**
   * The append-only file queued QoS reports are kept in until each checker took them (edge/billing/QosOutboxFile.ts);
   * what an earlier run left there is resent first. None = memory only.
   */
  outboxFile?: string;
}

/** A running edge billing: reporters per session and the settlement agent. */
export interface RunningEdgeBilling {
  billing: EdgeBilling;
  agent: SettlementAgent;
  close(): Promise<void>;
}

/**
 * Wires an edge's billing: per-session QoS reports signed with its node key, the gate that pauses a session without
 * a grant or the player's reports, and a settlement agent that pays its gas with the same key on the payments chain
 * and reads the escrow's checker set there; the edge's operator-only `GET /v1/earnings` answers from them.
 */
export function startEdgeBilling(p: StartEdgeBillingParameters): RunningEdgeBilling {
  const clients = createChainClients(localChain(p.payments.chainId, p.payments.rpcUrl), p.edge.account);
  const escrow = { chainId: p.payments.chainId, address: p.payments.escrow };
  const agent = new SettlementAgent({
    clients,
    escrow,
    checkerSet: () => readCheckerSet(clients.publicClient, escrow.address),
    logger: p.logger.child({ part: 'settlement' }),
    settleAfterEndMs: p.periodMs + p.reportGraceMs + 2000,
    ...(p.settleEveryMs !== undefined ? { everyMs: p.settleEveryMs } : {}),
  });
  const billing = new EdgeBilling({
    ...(p.outboxFile !== undefined ? { outboxFile: QosOutboxFile.open(p.outboxFile) } : {}),
    edge: p.edge,
    domain: stakingDomain(p.staking.chainId, p.staking.address),
    periodMs: p.periodMs,
    logger: p.logger.child({ part: 'qos' }),
    agent,
    ...(p.withhold ? { withhold: p.withhold } : {}),
    ...(p.reportTransform ? { reportTransform: p.reportTransform } : {}),
    gate: { grantGraceMs: p.grantGraceMs ?? 15_000, reportDeadlineMs: p.reportGraceMs },
  });
  const source = () => readEarnings({ agent, edge: p.edge.account.address });
  p.edge.earningsSource = source;
  let closing: Promise<void> | undefined;
  return {
    billing,
    agent,
    close() {
      if (p.edge.earningsSource === source) p.edge.earningsSource = undefined;
      closing ??= billing.close().then(() => agent.close());
      return closing;
    },
  };
}
