import type { FastifyInstance } from 'fastify';
import { type Address, type Hex, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../checker/buildApp.js';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { collectAttestations } from '../../checker/collectAttestations.js';
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
  settle,
} from '../../contracts-client/src/escrow.js';
import { localAccounts, localPrivateKey } from '../../contracts-client/src/localChain.js';
import { registerEdge, type StakingRef, slash } from '../../contracts-client/src/staking.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import { type QosReport, QosRole, stakingDomain } from '../../protocol/eip712.js';
import { FarplayError } from '../../protocol/errors.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import { qosPolicy, qosPolicyHash } from '../../protocol/qosPolicy.js';
import type { SignedQosReport } from '../../protocol/qosReport.js';
import { goodMinute, newSession, type TestSession } from './checker-support.js';

// Three real checker HTTP servers (port 0) on both anvil chains: a quorum of 2 of their attestations settles
// through the real SessionEscrow.settle and pays exactly the good minutes; a killed checker does not stop it; an
// equivocating edge is slashed through the real StakingRegistry with the checkers' evidence.
const PERIOD = 1000;
const GRACE = 300;
const ATH = 10n ** 18n;
const PRICE = parseEther('0.01');
const policy = qosPolicy({ periodMs: PERIOD, reportGraceMs: GRACE });
const accounts = localAccounts();
const checkerKeys = [5, 6, 7].map((i) => localPrivateKey(i));
const paymentsChain = localChain(inject('paymentsChainId'), inject('paymentsRpcUrl'));
const stakingChain = localChain(inject('stakingChainId'), inject('stakingRpcUrl'));
const payAdmin = createChainClients(paymentsChain, accounts.deployer);
const stakeAdmin = createChainClients(stakingChain, accounts.deployer);
const settler = createChainClients(paymentsChain, accounts.edge);

let escrow: EscrowRef;
let staking: StakingRef;
let set: CheckerSet;
let apps: FastifyInstance[] = [];
let clients: CheckerClient[] = [];
let clock = Date.now();
const good = goodMinute(PERIOD);

beforeAll(async () => {
  const checkers = checkerKeys.map((_k, i) => accounts.checkers[i]?.address as Address);
  set = { checkers: sortAddresses(checkers), quorum: 2, policyHash: qosPolicyHash(policy) };
  const pay = await deployPaymentsChain(payAdmin, {
    checkerSet: set,
    treasury: accounts.treasury.address,
    withdrawDelay: 3600,
    timelockDelay: 600n,
  });
  escrow = { address: pay.escrow as Address, chainId: paymentsChain.id };
  const stk = await deployStakingChain(stakeAdmin, {
    checkerSet: set,
    playerBps: 5000,
    finderBps: 1000,
    timelockDelay: 600n,
  });
  staking = { address: stk.staking as Address, chainId: stakingChain.id, token: stk.token };

  await sendTx(payAdmin, {
    address: pay.token,
    abi: testATHAbi,
    functionName: 'mint',
    args: [accounts.deployer.address, 100n * ATH],
  });
  await depositFor(payAdmin, escrow, pay.token, accounts.player.address, 100n * ATH);
  const operator = createChainClients(stakingChain, accounts.operator);
  await sendTx(stakeAdmin, {
    address: staking.token,
    abi: testATHAbi,
    functionName: 'mint',
    args: [accounts.operator.address, 1000n * ATH],
  });
  await registerEdge(operator, staking, { edge: accounts.edge, cutBps: 1000, amount: 1000n * ATH });

  for (const privateKey of checkerKeys) {
    const app = await buildApp({
      config: {
        privateKey,
        periodMs: PERIOD,
        reportGraceMs: GRACE,
        sweepMs: 20,
        paymentsChainId: escrow.chainId,
        escrowAddress: escrow.address,
        stakingChainId: staking.chainId,
        stakingAddress: staking.address,
        slashBps: 1000,
        logLevel: 'silent',
      },
      now: () => clock,
    });
    apps.push(app);
    clients.push(new CheckerClient(await app.listen({ host: '127.0.0.1', port: 0 })));
  }
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
  clients = [];
});

/** Posts a report to every checker still up; resolves with their answers (errors as FarplayErrors). */
async function toAll(s: TestSession, r: SignedQosReport, live = clients) {
  return Promise.all(
    live.map((c) => c.report(s.grant.sessionId, r).catch((e: unknown) => e as FarplayError)),
  );
}

/** Resolves when `app`'s checker has decided `minute` of the session (its sweep runs on its own timer). */
function verdictOf(app: FastifyInstance, s: TestSession, minute: number): Promise<void> {
  return new Promise((resolve) => {
    const off = app.checker.on('verdict', (sessionId, verdict) => {
      if (sessionId === s.grant.sessionId.toLowerCase() && verdict.minute === minute) {
        off();
        resolve();
      }
    });
  });
}

describe('checkers and per-minute billing on anvil', () => {
  it('settles 2-of-3 attestations for exactly the good minutes, with a checker killed mid-session', async () => {
    const s = await newSession({ escrow, staking }, accounts.player, accounts.edge, {
      pricePerMinute: PRICE,
    });
    for (const c of clients) await c.openSession(s.grantJson, s.grantSignature);
    const before = (await readAccount(payAdmin.publicClient, escrow, accounts.player.address)).balance;
    let live = clients;
    // Minutes: 0 1 good, 2 the player decodes a third of what the edge claims, 3 good, checker 3 dies,
    // 4 good, 5 the player's report never comes, 6 good. Good minutes: 0 1 3 4 6 = 5.
    for (let minute = 0; minute <= 6; minute++) {
      clock += PERIOD;
      const e = await s.edgeChain.next(minute, good.edge, { targetFps: 60 }, clock);
      expect((await toAll(s, e, live)).every((a) => !(a instanceof FarplayError))).toBe(true);
      if (minute !== 5) {
        const frames = minute === 2 ? Math.round(good.player.frames / 3) : good.player.frames;
        const p = await s.playerChain.next(minute, { ...good.player, frames }, {}, clock);
        const answers = await toAll(s, p, live);
        for (const a of answers) {
          if (a instanceof FarplayError) throw a;
          expect(a.verdict?.billable).toBe(minute !== 2);
        }
      } else {
        const waits = apps.slice(0, live.length).map((a) => verdictOf(a, s, minute));
        clock += GRACE + 1;
        await Promise.all(waits);
      }
      if (minute === 3) {
        await apps[2]?.close();
        live = clients.slice(0, 2);
      }
    }
    const quorum = await collectAttestations({
      checkers: clients,
      sessionId: s.grant.sessionId,
      quorum: 2,
      escrow,
    });
    expect(quorum?.minutes).toBe(5);
    if (quorum === null) throw new Error('no quorum');
    const receipt = await settle(settler, escrow, {
      grant: s.grant,
      grantSignature: s.grantSignature,
      minutes: quorum.minutes,
      attestations: quorum.attestations,
      checkerSet: set,
    });
    expect(receipt.status).toBe('success');
    expect(await paidMinutes(payAdmin.publicClient, escrow, accounts.edge.address, s.grant.sessionId)).toBe(
      5,
    );
    expect(
      await readEdgeEarnings(payAdmin.publicClient, escrow, accounts.edge.address, [s.grant.sessionId]),
    ).toBe(5n * PRICE);
    const after = (await readAccount(payAdmin.publicClient, escrow, accounts.player.address)).balance;
    expect(before - after).toBe(5n * PRICE);
    const evidence = (await clients[0]?.evidence(s.grant.sessionId)) ?? {};
    expect((evidence.verdicts as { billable: boolean }[]).map((v) => v.billable)).toEqual([
      true,
      true,
      false,
      true,
      true,
      false,
      true,
    ]);
  });

  it('slashes an edge that signed two different reports of one minute, paying the player, with the checkers’ evidence', async () => {
    const live = clients.slice(0, 2);
    const s = await newSession({ escrow, staking }, accounts.player, accounts.edge, {
      pricePerMinute: PRICE,
    });
    for (const c of live) await c.openSession(s.grantJson, s.grantSignature);
    clock += PERIOD;
    const honest = await s.edgeChain.next(0, good.edge, { targetFps: 60 }, clock);
    const twin = new QosReportChain({
      sessionId: s.grant.sessionId,
      role: QosRole.edge,
      signer: accounts.edge,
      domain: stakingDomain(staking.chainId, staking.address),
    });
    const lie = await twin.next(0, { ...good.edge, frames: good.edge.frames * 2 }, { targetFps: 60 }, clock);
    await toAll(s, honest, live);
    const refusals = await toAll(s, lie, live);
    const slashes = refusals.map((r) => {
      expect(r).toBeInstanceOf(FarplayError);
      expect((r as FarplayError).code).toBe('CHECKER_EQUIVOCATION');
      return ((r as FarplayError).details as { slash: SlashDetails }).slash;
    });
    const first = slashes[0] as SlashDetails;
    const balance = () =>
      stakeAdmin.publicClient.readContract({
        address: staking.token,
        abi: testATHAbi,
        functionName: 'balanceOf',
        args: [accounts.player.address],
      });
    const before = await balance();
    const receipt = await slash(stakeAdmin, staking, {
      order: { ...first.order, deadline: BigInt(first.order.deadline) },
      evidence: [
        { report: first.evidence[0].report, signature: first.evidence[0].signature },
        { report: first.evidence[1].report, signature: first.evidence[1].signature },
      ],
      signatures: slashes.map((x) => ({ signer: x.checker, signature: x.signature })),
      checkerSet: set,
    });
    expect(receipt.status).toBe('success');
    // 10 % of the 1000 ATH stake; the player is both the affected player (50 %) and the finder (10 %).
    expect((await balance()) - before).toBe(60n * ATH);
  });
});

interface SlashDetails {
  order: {
    edge: Address;
    sessionId: Hex;
    minute: number;
    bps: number;
    player: Address;
    finder: Address;
    deadline: string;
  };
  evidence: [{ report: QosReport; signature: Hex }, { report: QosReport; signature: Hex }];
  checker: Address;
  signature: Hex;
}
