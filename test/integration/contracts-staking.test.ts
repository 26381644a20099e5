import { keccak256, type LocalAccount, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckerSet } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import {
  claimRewards,
  delegate,
  delegationOf,
  distributeRewards,
  type Evidence,
  isEdgeActive,
  pendingRewards,
  registerEdge,
  type StakingRef,
  signQosReport,
  signSlashOrder,
  slash,
  stakeOf,
  unbond,
  withdrawUnbonded,
} from '../../contracts-client/src/staking.js';
import { type QosReport, QosRole, type SlashOrder } from '../../protocol/eip712.js';
import { expectCode } from '../support/expectCode.js';
import {
  ATH,
  accounts,
  admin,
  balanceOf,
  chain,
  chainNow,
  checkers,
  deployStakingFixture,
  fundedAccount,
  metricsWith,
  mint,
  testClient,
} from './staking-support.js';

const operator = createChainClients(chain, accounts.operator);
const UNBONDING = 7n * 86_400n;
const BURN = '0x000000000000000000000000000000000000dEaD';

let staking: StakingRef;
let set: CheckerSet;
const edge = privateKeyToAccount(generatePrivateKey());
const sessionId = keccak256(toHex('staking-test-session'));

async function edgeReport(
  minute: number,
  frames: number,
  signer: LocalAccount = edge,
  role: QosRole = QosRole.edge,
) {
  const report: QosReport = { sessionId, minute, role, metrics: metricsWith(frames) };
  return { report, signature: await signQosReport(signer, staking, report) } satisfies Evidence;
}

async function quorumOver(order: SlashOrder, signers = checkers.slice(0, 3)) {
  return Promise.all(
    signers.map(async (c) => ({ signer: c.address, signature: await signSlashOrder(c, staking, order) })),
  );
}

/** A slash order for 10 % of the edge's pool over `minute` of the test session, valid for an hour. */
async function orderFor(minute: number): Promise<SlashOrder> {
  return {
    edge: edge.address,
    sessionId,
    minute,
    bps: 1000,
    player,
    finder,
    deadline: (await chainNow()) + 3600n,
  };
}

let A: Awaited<ReturnType<typeof fundedAccount>>;
let B: Awaited<ReturnType<typeof fundedAccount>>;
const player = privateKeyToAccount(generatePrivateKey()).address;
const finder = privateKeyToAccount(generatePrivateKey()).address;

beforeAll(async () => {
  ({ staking, set } = await deployStakingFixture({
    unbondingDelay: UNBONDING,
    playerBps: 5000,
    finderBps: 1000,
  }));
  await mint(staking, accounts.operator.address, 1000n * ATH);
  A = await fundedAccount(staking, 3000n * ATH);
  B = await fundedAccount(staking, 1000n * ATH);
});

describe('StakingRegistry on the staking chain', () => {
  it('registers an edge only with the minimum stake and the edge key’s bond', async () => {
    await expectCode(
      registerEdge(operator, staking, { edge, cutBps: 1000, amount: 999n * ATH }),
      'CHAIN_STAKE_TOO_LOW',
    );
    const impostor = privateKeyToAccount(generatePrivateKey());
    // The bond is signed by another key than the edge address being registered.
    await expectCode(
      registerEdge(operator, staking, {
        edge: { ...impostor, address: edge.address },
        cutBps: 1000,
        amount: 1000n * ATH,
      }),
      'CHAIN_BAD_SIGNATURE',
    );
    await registerEdge(operator, staking, { edge, cutBps: 1000, amount: 1000n * ATH });
    expect(await isEdgeActive(admin.publicClient, staking, edge.address)).toBe(true);
  });

  it('shares rewards by stake after the operator’s cut', async () => {
    await delegate(A.clients, staking, edge.address, 3000n * ATH);
    await delegate(B.clients, staking, edge.address, 1000n * ATH);
    await mint(staking, accounts.deployer.address, 1000n * ATH);
    await distributeRewards(admin, staking, edge.address, 1000n * ATH);
    // 10% cut = 100 to the operator; 900 over 5000 shares: operator 1000, A 3000, B 1000.
    expect(await pendingRewards(admin.publicClient, staking, edge.address, accounts.operator.address)).toBe(
      280n * ATH,
    );
    expect(await pendingRewards(admin.publicClient, staking, edge.address, A.account.address)).toBe(
      540n * ATH,
    );
    expect(await pendingRewards(admin.publicClient, staking, edge.address, B.account.address)).toBe(
      180n * ATH,
    );
    await claimRewards(A.clients, staking, edge.address);
    expect(await balanceOf(staking, A.account.address)).toBe(540n * ATH);
  });

  it('refuses slashing without valid evidence or without a checker quorum', async () => {
    const order = await orderFor(7);
    const signatures = await quorumOver(order);
    const a = await edgeReport(7, 3600);
    const b = await edgeReport(7, 1800);
    // Two identical reports are no conflict.
    await expectCode(
      slash(admin, staking, { order, evidence: [a, a], signatures, checkerSet: set }),
      'CHAIN_INVALID_EVIDENCE',
    );
    // A report not signed by the edge key.
    const forged = await edgeReport(7, 1800, privateKeyToAccount(generatePrivateKey()));
    await expectCode(
      slash(admin, staking, { order, evidence: [a, forged], signatures, checkerSet: set }),
      'CHAIN_INVALID_EVIDENCE',
    );
    // Reports for another minute than the order names.
    const other = await edgeReport(8, 1800);
    await expectCode(
      slash(admin, staking, { order, evidence: [a, other], signatures, checkerSet: set }),
      'CHAIN_INVALID_EVIDENCE',
    );
    // A player-side report is not the edge's claim.
    const asPlayer = await edgeReport(7, 1800, edge, QosRole.player);
    await expectCode(
      slash(admin, staking, { order, evidence: [a, asPlayer], signatures, checkerSet: set }),
      'CHAIN_INVALID_EVIDENCE',
    );
    // Valid evidence, but too few checkers, or checkers that signed another amount.
    await expectCode(
      slash(admin, staking, { order, evidence: [a, b], signatures: signatures.slice(0, 2), checkerSet: set }),
      'CHAIN_BELOW_QUORUM',
    );
    const otherAmount = await quorumOver({ ...order, bps: 1200 });
    await expectCode(
      slash(admin, staking, { order, evidence: [a, b], signatures: otherAmount, checkerSet: set }),
      'CHAIN_NOT_CHECKER',
    );
    const { active } = await stakeOf(admin.publicClient, staking, edge.address, A.account.address);
    expect(active).toBe(3000n * ATH);
  });

  it('slashes with conflicting signed reports, split player/finder/burn, borne by all shares pro rata', async () => {
    const order = await orderFor(7);
    const evidence = [await edgeReport(7, 3600), await edgeReport(7, 1800)] as const;
    const burnedBefore = await balanceOf(staking, BURN);
    await slash(admin, staking, { order, evidence, signatures: await quorumOver(order), checkerSet: set });
    expect(await balanceOf(staking, player)).toBe(250n * ATH);
    expect(await balanceOf(staking, finder)).toBe(50n * ATH);
    expect((await balanceOf(staking, BURN)) - burnedBefore).toBe(200n * ATH);
    // 5000 staked lose 500: every share loses 10%.
    expect((await stakeOf(admin.publicClient, staking, edge.address, accounts.operator.address)).active).toBe(
      900n * ATH,
    );
    expect((await stakeOf(admin.publicClient, staking, edge.address, A.account.address)).active).toBe(
      2700n * ATH,
    );
    expect((await stakeOf(admin.publicClient, staking, edge.address, B.account.address)).active).toBe(
      900n * ATH,
    );
    // Rewards already earned are untouched; the operator is now below the minimum.
    expect(await pendingRewards(admin.publicClient, staking, edge.address, B.account.address)).toBe(
      180n * ATH,
    );
    expect(await isEdgeActive(admin.publicClient, staking, edge.address)).toBe(false);
    await expectCode(delegate(B.clients, staking, edge.address, 1n * ATH), 'CHAIN_UNKNOWN_EDGE');
    // The same evidence cannot slash twice.
    await expectCode(
      slash(admin, staking, { order, evidence, signatures: await quorumOver(order), checkerSet: set }),
      'CHAIN_EVIDENCE_USED',
    );
  });

  it('unbonds after the delay; unbonding stake stops earning but stays slashable', async () => {
    const { shares } = await delegationOf(admin.publicClient, staking, edge.address, B.account.address);
    await unbond(B.clients, staking, edge.address, shares);
    await expectCode(withdrawUnbonded(B.clients, staking, edge.address), 'CHAIN_STILL_UNBONDING');
    // An operator cannot drop below the minimum without leaving entirely.
    await expectCode(unbond(operator, staking, edge.address, 1n * ATH), 'CHAIN_STAKE_TOO_LOW');

    // Rewards now go to active shares only (operator 1000, A 3000 shares): 100 cut, 900 split 1:3.
    await mint(staking, accounts.deployer.address, 1000n * ATH);
    await distributeRewards(admin, staking, edge.address, 1000n * ATH);
    expect(await pendingRewards(admin.publicClient, staking, edge.address, B.account.address)).toBe(
      180n * ATH,
    );
    expect(await pendingRewards(admin.publicClient, staking, edge.address, A.account.address)).toBe(
      675n * ATH,
    );

    // A fraud found during unbonding still reaches B: 4500 lose 450, B's 900 become 810.
    const order = await orderFor(8);
    const evidence = [await edgeReport(8, 3600), await edgeReport(8, 100)] as const;
    await slash(admin, staking, { order, evidence, signatures: await quorumOver(order), checkerSet: set });
    expect((await stakeOf(admin.publicClient, staking, edge.address, B.account.address)).unbonding).toBe(
      810n * ATH,
    );

    await testClient.increaseTime({ seconds: Number(UNBONDING) - 60 });
    await testClient.mine({ blocks: 1 });
    await expectCode(withdrawUnbonded(B.clients, staking, edge.address), 'CHAIN_STILL_UNBONDING');
    await testClient.increaseTime({ seconds: 120 });
    await testClient.mine({ blocks: 1 });
    const before = await balanceOf(staking, B.account.address);
    await withdrawUnbonded(B.clients, staking, edge.address);
    expect((await balanceOf(staking, B.account.address)) - before).toBe(810n * ATH);
    await expectCode(withdrawUnbonded(B.clients, staking, edge.address), 'CHAIN_NO_WITHDRAWAL');
    // A is untouched by B's exit: 3000 shares of the remaining 4050 tokens.
    expect((await stakeOf(admin.publicClient, staking, edge.address, A.account.address)).active).toBe(
      2430n * ATH,
    );

    // The operator (810 left) tops up above the minimum and the edge is active again.
    expect(await isEdgeActive(admin.publicClient, staking, edge.address)).toBe(false);
    await mint(staking, accounts.operator.address, 200n * ATH);
    await delegate(operator, staking, edge.address, 200n * ATH);
    expect(await isEdgeActive(admin.publicClient, staking, edge.address)).toBe(true);
  });
});
