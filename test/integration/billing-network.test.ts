import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { type Address, type Hex, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildChecker } from '../../checker/buildApp.js';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { type CheckerSet, sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployPaymentsChain, deployStakingChain } from '../../contracts-client/src/deploy.js';
import {
  depositFor,
  type EscrowRef,
  paidMinutes,
  readAccount,
  readEdgeEarnings,
  signGrant,
} from '../../contracts-client/src/escrow.js';
import {
  type AnvilNode,
  LOCAL_PAYMENTS_CHAIN_ID,
  LOCAL_STAKING_CHAIN_ID,
  localAccounts,
  localPrivateKey,
  startAnvil,
} from '../../contracts-client/src/localChain.js';
import type { ChainClients } from '../../contracts-client/src/tx.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import { type RunningEdgeBilling, startEdgeBilling } from '../../edge/billing/startEdgeBilling.js';
import { parseEdgeConfig } from '../../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { buildApp as buildMatchmaker, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { type Grant, QosRole, stakingDomain } from '../../protocol/eip712.js';
import { PeriodicQosReporter } from '../../protocol/PeriodicQosReporter.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { QosOutbox } from '../../protocol/QosOutbox.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import { qosPolicy, qosPolicyHash } from '../../protocol/qosPolicy.js';
import { grantToJson } from '../../protocol/qosReport.js';
import { NodePlayer } from '../tools/NodePlayer.js';

// The running network bills: a matchmaker assigns 3 checkers (quorum 2) to a session on a paid network, the edge
// signs and sends a QoS report per short period (withholding one), the player signs its own from what it
// received, the checkers attest, and the edge's settlement agent settles through the real escrow on anvil: the
// operator is paid exactly the attested minutes, the player charged exactly those, the withheld one unpaid.
const PERIOD = 3000;
const GRACE = 2000;
const PRICE = parseEther('0.01');
const WITHHELD = 2;
const policy = qosPolicy({ periodMs: PERIOD, reportGraceMs: GRACE });
const accounts = localAccounts();
const edgeKey = localPrivateKey(3);
// Chains of its own: other test files move the shared chains' clocks (withdrawal and unbonding delays), which
// would expire this test's grant between its periods and its settlement.
const nodes: AnvilNode[] = [];
let paymentsChain: ReturnType<typeof localChain>;
let stakingChain: ReturnType<typeof localChain>;
let payAdmin: ChainClients;
let stakeAdmin: ChainClients;

let escrow: EscrowRef;
let stakingAddress: Address;
let checkers: FastifyInstance[] = [];
let checkerUrls: string[] = [];
let mm: MatchmakerApp;
let mmUrl: string;
let edge: EdgeServer;
let control: EdgeControl;
let billing: RunningEdgeBilling;

beforeAll(async () => {
  const pays = await startAnvil({ chainId: LOCAL_PAYMENTS_CHAIN_ID });
  nodes.push(pays);
  const stakes = await startAnvil({ chainId: LOCAL_STAKING_CHAIN_ID });
  nodes.push(stakes);
  paymentsChain = localChain(pays.chainId, pays.rpcUrl);
  stakingChain = localChain(stakes.chainId, stakes.rpcUrl);
  payAdmin = createChainClients(paymentsChain, accounts.deployer);
  stakeAdmin = createChainClients(stakingChain, accounts.deployer);
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
  escrow = { address: pay.escrow as Address, chainId: paymentsChain.id };
  const stk = await deployStakingChain(stakeAdmin, { checkerSet: set, timelockDelay: 600n });
  stakingAddress = stk.staking as Address;
  await sendTx(payAdmin, {
    address: pay.token,
    abi: testATHAbi,
    functionName: 'mint',
    args: [accounts.deployer.address, 10n * 10n ** 18n],
  });
  await depositFor(payAdmin, escrow, pay.token, accounts.player.address, 10n * 10n ** 18n);

  for (const i of [5, 6, 7]) {
    const app = await buildChecker({
      config: {
        privateKey: localPrivateKey(i),
        periodMs: PERIOD,
        reportGraceMs: GRACE,
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

  mm = await buildMatchmaker({
    config: {
      logLevel: 'silent',
      checkerUrls: checkerUrls.join(','),
      checkersPerSession: 3,
      checkerQuorum: 2,
      qosPeriodMs: PERIOD,
      paymentsChainId: escrow.chainId,
      escrowAddress: escrow.address,
      stakingChainId: stakingChain.id,
      stakingAddress,
      paymentsRpcUrl: nodes[0]?.rpcUrl ?? '',
      requireDeposit: true,
      grantMaxMinutes: 50,
    },
  });
  mmUrl = await mm.listen({ host: '127.0.0.1', port: 0 });

  edge = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      nodePrivateKey: edgeKey,
      matchmakerPublicKey: mm.sessionPublicKey,
      iceAllowedAddresses: ['127.0.0.1'],
      logLevel: 'silent',
      pricePerMinute: PRICE.toString(),
    }),
    logger: pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' }),
    encoderProbe: await probeEncoders(),
  });
  await edge.listen({ host: '127.0.0.1', port: 0 });
  control = startEdgeControl({
    edge: edge.edge,
    account: privateKeyToAccount(edgeKey),
    matchmakerUrl: mmUrl,
    heartbeatMs: 500,
  });
  await control.registered;
  await mm.matchmaker.refresh();
  billing = startEdgeBilling({
    edge: edge.edge,
    logger: pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' }),
    periodMs: PERIOD,
    reportGraceMs: GRACE,
    staking: { chainId: stakingChain.id, address: stakingAddress },
    payments: { chainId: escrow.chainId, rpcUrl: nodes[0]?.rpcUrl ?? '', escrow: escrow.address },
    withhold: (_sessionId, minute) => minute === WITHHELD,
  });
}, 120_000);

afterAll(async () => {
  await billing?.close();
  await control?.close();
  await edge?.close();
  await mm?.close();
  await Promise.all(checkers.map((c) => c.close()));
  checkers = [];
  checkerUrls = [];
  for (const node of nodes.splice(0)) await node.close();
});

async function requestSession(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${mmUrl}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ gameId: 'latency-probe-30', measurements: [], ...body }),
  });
}

/** Resolves once `app`'s checker has decided minutes 0..last of the session. */
function decided(app: FastifyInstance, sessionId: Hex, last: number): Promise<void> {
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

describe('billing on the running network', () => {
  it('refuses a session on a paid network without a payer, or with a payer whose deposit does not cover it', async () => {
    const sessionKey = privateKeyToAccount(generatePrivateKey()).address;
    const none = await requestSession({ sessionKey });
    expect(none.status).toBe(402);
    expect(((await none.json()) as { code: string }).code).toBe('MM_PAYMENT_REQUIRED');
    const poor = await requestSession({
      sessionKey,
      payer: privateKeyToAccount(generatePrivateKey()).address,
    });
    expect(poor.status).toBe(402);
    expect(((await poor.json()) as { code: string }).code).toBe('MM_INSUFFICIENT_DEPOSIT');
  });

  it('pays the operator exactly the attested periods and leaves the one the edge withheld unpaid', async () => {
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    const res = await requestSession({ payer: accounts.player.address, sessionKey: sessionKey.address });
    expect(res.status, await res.clone().text()).toBe(200);
    const session = (await res.json()) as CreateSessionResponse;
    const b = session.billing;
    if (b === undefined) throw new Error('no billing in the session answer');
    expect(b.checkers).toHaveLength(3);
    expect(b.quorum).toBe(2);
    expect(b.edge.toLowerCase()).toBe(edge.edge.id.toLowerCase());

    // The page's part: one grant per session, opened at the session's checkers before it plays.
    const grant: Grant = {
      sessionId: b.sessionId as Hex,
      player: accounts.player.address,
      edge: b.edge as Address,
      pricePerMinute: BigInt(b.pricePerMinute),
      maxMinutes: b.maxMinutes,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
      sessionKey: sessionKey.address,
    };
    const postGrant = (g: Grant, signature: Hex) =>
      fetch(`${mmUrl}/v1/sessions/${session.sessionId}/grant`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant: grantToJson(g), grantSignature: signature }),
      });
    // The matchmaker checks the grant: another session key than the session's is refused.
    const stranger = { ...grant, sessionKey: privateKeyToAccount(generatePrivateKey()).address };
    const refused = await postGrant(stranger, await signGrant(accounts.player, escrow, stranger));
    expect(((await refused.json()) as { code: string }).code).toBe('MM_BAD_GRANT');
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const accepted = await postGrant(grant, grantSignature);
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    expect(((await accepted.json()) as { opened: number }).opened).toBe(3);
    const clients = b.checkers.map((u) => new CheckerClient(u));
    const before = (await readAccount(payAdmin.publicClient, escrow, accounts.player.address)).balance;

    const player = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
    const outbox = new QosOutbox({ checkers: b.checkers });
    let lastFrames = 0;
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
        };
        return { metrics, detail: {} };
      },
    });
    const allDecided = Promise.all(checkers.map((app) => decided(app, grant.sessionId, 4)));
    try {
      // A small picture: this shared 2-core machine must keep the game's 30 fps for the periods to be good.
      await player.waitFor(() => player.session !== undefined, 20_000, 'the session message');
      player.sendSignal({ type: 'resize', width: 320, height: 180 });
      await player.waitFor(() => player.framesReceived > 0, 20_000, 'the first frame');
      lastFrames = player.framesReceived;
      reporter.start();
      await player.waitFor(() => reporter.minute >= 5, 60_000, 'five periods');
    } finally {
      await reporter.close();
      await player.close();
    }
    await outbox.drained();
    await allDecided;
    await billing.billing.reporter(session.sessionId)?.outbox.drained();
    outbox.close();
    // The agent settles in rounds and retries what a round could not settle (a checker still deciding the
    // last minute, a transaction that failed): run rounds until the chain holds what the checkers billed.
    type Evidence = {
      verdicts: { minute: number; billable: boolean; reasons: string[] }[];
      billableMinutes: number;
    };
    let evidence = (await clients[0]?.evidence(grant.sessionId)) as Evidence;
    for (let round = 0; round < 20; round++) {
      await billing.agent.settleNow();
      evidence = (await clients[0]?.evidence(grant.sessionId)) as Evidence;
      const settled = await paidMinutes(payAdmin.publicClient, escrow, grant.edge, grant.sessionId);
      if (settled > 0 && settled === evidence.billableMinutes) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const withheld = evidence.verdicts.find((v) => v.minute === WITHHELD);
    expect(withheld?.billable).toBe(false);
    expect(withheld?.reasons).toContain('no-edge-report');
    const billable = evidence.verdicts.filter((v) => v.minute <= 4 && v.billable).length;
    expect(billable, JSON.stringify(evidence.verdicts)).toBeGreaterThan(0);

    const paid = await paidMinutes(payAdmin.publicClient, escrow, grant.edge, grant.sessionId);
    expect(paid, JSON.stringify(billing.agent.status())).toBe(evidence.billableMinutes);
    expect(await readEdgeEarnings(payAdmin.publicClient, escrow, grant.edge, [grant.sessionId])).toBe(
      BigInt(paid) * PRICE,
    );
    const after = (await readAccount(payAdmin.publicClient, escrow, accounts.player.address)).balance;
    expect(before - after).toBe(BigInt(paid) * PRICE);
    expect(billing.agent.status().find((s) => s.sessionId === grant.sessionId)?.pending ?? 0).toBe(0);
  });
});
