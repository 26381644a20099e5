import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { buildApp as buildChecker } from '../../checker/buildApp.js';
import type { CheckerClient } from '../../checker/client/CheckerClient.js';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { type CheckerSet, sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployPaymentsChain, deployStakingChain } from '../../contracts-client/src/deploy.js';
import { depositFor, type EscrowRef, paidMinutes, signGrant } from '../../contracts-client/src/escrow.js';
import {
  type AnvilNode,
  LOCAL_PAYMENTS_CHAIN_ID,
  LOCAL_STAKING_CHAIN_ID,
  localAccounts,
  localPrivateKey,
  startAnvil,
} from '../../contracts-client/src/localChain.js';
import { type ChainClients, sendTx } from '../../contracts-client/src/tx.js';
import { type RunningEdgeBilling, startEdgeBilling } from '../../edge/billing/startEdgeBilling.js';
import { parseEdgeConfig } from '../../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { buildApp as buildMatchmaker, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { type Grant, type QosMetrics, QosRole, stakingDomain } from '../../protocol/eip712.js';
import { PeriodicQosReporter } from '../../protocol/PeriodicQosReporter.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { QosOutbox } from '../../protocol/QosOutbox.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import { qosPolicy, qosPolicyHash } from '../../protocol/qosPolicy.js';
import { grantToJson } from '../../protocol/qosReport.js';
import { NodePlayer } from '../tools/NodePlayer.js';

export interface BillingNetworkOptions {
  periodMs: number;
  graceMs: number;
  /** Price per minute, wei. */
  price: bigint;
  /** Periods the edge does not report. */
  withhold?: (sessionId: string, minute: number) => boolean;
}

/**
 * A running billed network of its own: two anvil chains (other test files move the shared chains' clocks, which
 * would expire a grant between its periods and its settlement) with the contracts, a funded player deposit, three
 * checkers (quorum 2), a matchmaker assigning them on a paid network, and an edge that registers and bills.
 */
export interface BillingNetwork {
  escrow: EscrowRef;
  stakingAddress: Address;
  payAdmin: ChainClients;
  checkers: FastifyInstance[];
  checkerUrls: string[];
  mm: MatchmakerApp;
  mmUrl: string;
  edge: EdgeServer;
  control: EdgeControl;
  billing: RunningEdgeBilling;
  edgeKey: Hex;
  close(): Promise<void>;
}

const accounts = localAccounts();

export async function startBillingNetwork(o: BillingNetworkOptions): Promise<BillingNetwork> {
  const nodes: AnvilNode[] = [];
  const pays = await startAnvil({ chainId: LOCAL_PAYMENTS_CHAIN_ID });
  nodes.push(pays);
  const stakes = await startAnvil({ chainId: LOCAL_STAKING_CHAIN_ID });
  nodes.push(stakes);
  const paymentsChain = localChain(pays.chainId, pays.rpcUrl);
  const stakingChain = localChain(stakes.chainId, stakes.rpcUrl);
  const payAdmin = createChainClients(paymentsChain, accounts.deployer);
  const stakeAdmin = createChainClients(stakingChain, accounts.deployer);
  const policy = qosPolicy({ periodMs: o.periodMs, reportGraceMs: o.graceMs });
  const set: CheckerSet = {
    checkers: sortAddresses(accounts.checkers.slice(0, 3).map((c) => c.address)),
    quorum: 2,
    policyHash: qosPolicyHash(policy),
  };
  const pay = await deployPaymentsChain(payAdmin, {
    checkerSet: set,
    treasury: accounts.treasury.address,
    withdrawDelay: 3600,
    timelockDelay: 600n,
  });
  const escrow = { address: pay.escrow as Address, chainId: paymentsChain.id };
  const stk = await deployStakingChain(stakeAdmin, { checkerSet: set, timelockDelay: 600n });
  const stakingAddress = stk.staking as Address;
  await sendTx(payAdmin, {
    address: pay.token,
    abi: testATHAbi,
    functionName: 'mint',
    args: [accounts.deployer.address, 10n * 10n ** 18n],
  });
  await depositFor(payAdmin, escrow, pay.token, accounts.player.address, 10n * 10n ** 18n);

  const checkers: FastifyInstance[] = [];
  const checkerUrls: string[] = [];
  for (const i of [5, 6, 7]) {
    const app = await buildChecker({
      config: {
        privateKey: localPrivateKey(i),
        periodMs: o.periodMs,
        reportGraceMs: o.graceMs,
        sweepMs: 50,
        paymentsChainId: escrow.chainId,
        escrowAddress: escrow.address,
        stakingChainId: stakingChain.id,
        stakingAddress,
        logLevel: 'silent',
      },
    });
    checkers.push(app);
    checkerUrls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
  }

  const mm = await buildMatchmaker({
    config: {
      logLevel: 'silent',
      checkerUrls: checkerUrls.join(','),
      checkersPerSession: 3,
      checkerQuorum: 2,
      qosPeriodMs: o.periodMs,
      paymentsChainId: escrow.chainId,
      escrowAddress: escrow.address,
      stakingChainId: stakingChain.id,
      stakingAddress,
      paymentsRpcUrl: pays.rpcUrl,
      requireDeposit: true,
      grantMaxMinutes: 50,
    },
  });
  const mmUrl = await mm.listen({ host: '127.0.0.1', port: 0 });

  const edgeKey = localPrivateKey(3);
  const edge = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      nodePrivateKey: edgeKey,
      matchmakerPublicKey: mm.sessionPublicKey,
      iceAllowedAddresses: ['127.0.0.1'],
      logLevel: 'silent',
      pricePerMinute: o.price.toString(),
    }),
    logger: pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' }),
    encoderProbe: await probeEncoders(),
  });
  await edge.listen({ host: '127.0.0.1', port: 0 });
  const control = startEdgeControl({
    edge: edge.edge,
    account: privateKeyToAccount(edgeKey),
    matchmakerUrl: mmUrl,
    heartbeatMs: 500,
  });
  await control.registered;
  await mm.matchmaker.refresh();
  const billing = startEdgeBilling({
    edge: edge.edge,
    logger: pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' }),
    periodMs: o.periodMs,
    reportGraceMs: o.graceMs,
    staking: { chainId: stakingChain.id, address: stakingAddress },
    payments: { chainId: escrow.chainId, rpcUrl: pays.rpcUrl, escrow: escrow.address },
    ...(o.withhold ? { withhold: o.withhold } : {}),
  });
  return {
    escrow,
    stakingAddress,
    payAdmin,
    checkers,
    checkerUrls,
    mm,
    mmUrl,
    edge,
    control,
    billing,
    edgeKey,
    async close() {
      await billing.close();
      await control.close();
      await edge.close();
      await mm.close();
      await Promise.all(checkers.map((c) => c.close()));
      for (const node of nodes.splice(0)) await node.close();
    },
  };
}

/** Asks the network's matchmaker for a session of the latency probe game. */
export function requestSession(net: BillingNetwork, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${net.mmUrl}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ gameId: 'latency-probe-30', measurements: [], ...body }),
  });
}

/** Resolves once `app`'s checker has decided minutes 0..last of the session. */
export function decided(app: FastifyInstance, sessionId: Hex, last: number): Promise<void> {
  const seen = new Set<number>();
  return new Promise((resolve) => {
    const off = app.checker.on('verdict', (id, verdict) => {
      if (id !== sessionId.toLowerCase()) return;
      seen.add(verdict.minute);
      for (let m = 0; m <= last; m++) if (!seen.has(m)) return;
      off();
      resolve();
    });
  });
}

/** The player's grant of one session, as the page makes it (valid one hour). */
export function grantOf(session: CreateSessionResponse, sessionKey: Address): Grant {
  const b = session.billing;
  if (b === undefined) throw new Error('no billing in the session answer');
  return {
    sessionId: b.sessionId as Hex,
    player: accounts.player.address,
    edge: b.edge as Address,
    pricePerMinute: BigInt(b.pricePerMinute),
    maxMinutes: b.maxMinutes,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
    sessionKey,
  };
}

/** Posts the signed grant to the matchmaker, which opens it at the session's checkers. */
export async function postGrant(
  net: BillingNetwork,
  session: CreateSessionResponse,
  grant: Grant,
  signature?: Hex,
): Promise<Response> {
  return fetch(`${net.mmUrl}/v1/sessions/${session.sessionId}/grant`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant: grantToJson(grant),
      grantSignature: signature ?? (await signGrant(accounts.player, net.escrow, grant)),
    }),
  });
}

export interface PlayBilledSessionOptions {
  /** Periods the player reports (the checkers decide minutes 0..periods-1). */
  periods: number;
  /** The player's figures of one period beside the frames it received (default: a good link). */
  playerFigures?: (minute: number) => Partial<QosMetrics>;
  /** Stops the checker `index` (its HTTP server closes) once the player has reported `afterPeriods` periods. */
  checkerDown?: { index: number; afterPeriods: number };
}

/**
 * A Node player plays one session through the network: a session from the matchmaker with a granted payer, a
 * small picture (this shared machine must keep the game's 30 fps), the player's own signed report per period;
 * resolves when every checker decided the periods and the edge delivered its reports.
 */
export async function playBilledSession(
  net: BillingNetwork,
  o: PlayBilledSessionOptions,
): Promise<{ session: CreateSessionResponse; grant: Grant }> {
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  const res = await requestSession(net, { payer: accounts.player.address, sessionKey: sessionKey.address });
  if (res.status !== 200) throw new Error(`session refused: ${await res.text()}`);
  const session = (await res.json()) as CreateSessionResponse;
  const b = session.billing;
  if (b === undefined) throw new Error('no billing in the session answer');
  const grant = grantOf(session, sessionKey.address);
  const accepted = await postGrant(net, session, grant);
  if (accepted.status !== 200) throw new Error(`grant refused: ${await accepted.text()}`);

  const player = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
  const outbox = new QosOutbox({ checkers: b.checkers });
  let lastFrames = 0;
  let minute = 0;
  const reporter = new PeriodicQosReporter({
    chain: new QosReportChain({
      sessionId: grant.sessionId,
      role: QosRole.player,
      signer: sessionKey,
      domain: stakingDomain(b.staking.chainId, b.staking.address as Address),
    }),
    outbox,
    periodMs: b.periodMs,
    sample: () => {
      const frames = player.framesReceived - lastFrames;
      lastFrames = player.framesReceived;
      const metrics = {
        frames,
        bitrateKbps: 0,
        encodeTimeUs: 0,
        rttMs: 5,
        jitterMs: 1,
        lossPpm: 0,
        freezeMs: 0,
        ...o.playerFigures?.(minute++),
      };
      return { metrics, detail: {} };
    },
  });
  const down = o.checkerDown;
  const allDecided = Promise.all(
    net.checkers
      .filter((_app, i) => i !== down?.index)
      .map((app) => decided(app, grant.sessionId, o.periods - 1)),
  );
  try {
    await player.waitFor(() => player.session !== undefined, 20_000, 'the session message');
    player.sendSignal({ type: 'resize', width: 320, height: 180 });
    await player.waitFor(() => player.framesReceived > 0, 20_000, 'the first frame');
    lastFrames = player.framesReceived;
    reporter.start();
    if (down !== undefined) {
      await player.waitFor(
        () => reporter.minute >= down.afterPeriods,
        60_000,
        `${down.afterPeriods} periods`,
      );
      await net.checkers[down.index]?.close();
    }
    await player.waitFor(() => reporter.minute >= o.periods, 60_000, `${o.periods} periods`);
    // Both ends report the same periods: the player stops reporting, the stream goes on until the edge (whose
    // clock started at its first frame sent, not at the player's first decoded) has closed as many.
    await reporter.close();
    const edgePeriods = () => net.billing.billing.reporter(session.sessionId)?.periods ?? 0;
    await player.waitFor(() => edgePeriods() >= o.periods, 60_000, `the edge's ${o.periods} periods`);
  } finally {
    await reporter.close();
    await player.close();
  }
  // A stopped checker never takes its queue: the others having decided every period is what counts then.
  if (down === undefined) await outbox.drained();
  await allDecided;
  if (down === undefined) await net.billing.billing.reporter(session.sessionId)?.outbox.drained();
  outbox.close();
  return { session, grant };
}

/** A checker's evidence as these tests read it. */
export type BilledEvidence = {
  verdicts: { minute: number; billable: boolean; reasons: string[] }[];
  billableMinutes: number;
};

/**
 * Runs the edge's settlement rounds until the chain holds what `checker` billed for the session (a round can find a
 * checker still deciding the last minute, or a transaction fail; the agent retries). Returns that checker's
 * evidence and the minutes paid on chain.
 */
export async function settleUntilPaid(
  net: BillingNetwork,
  grant: Grant,
  checker: CheckerClient,
): Promise<{ evidence: BilledEvidence; paid: number }> {
  const { billing, payAdmin, escrow } = net;
  let evidence = (await checker.evidence(grant.sessionId)) as BilledEvidence;
  let paid = 0;
  for (let round = 0; round < 20; round++) {
    await billing.agent.settleNow();
    evidence = (await checker.evidence(grant.sessionId)) as BilledEvidence;
    paid = await paidMinutes(payAdmin.publicClient, escrow, grant.edge, grant.sessionId);
    if (paid > 0 && paid === evidence.billableMinutes) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { evidence, paid };
}
