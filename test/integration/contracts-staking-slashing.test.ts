import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckerSet } from '../../contracts-client/src/checkers.js';
import {
  delegate,
  delegationOf,
  type StakingRef,
  slash,
  slashRefuted,
  stakeOf,
  unbond,
  withdrawUnbonded,
} from '../../contracts-client/src/staking.js';
import { expectCode } from '../support/expectCode.js';
import {
  ATH,
  admin,
  balanceOf,
  chainNow,
  conflictingReportsSlash,
  deployStakingFixture,
  fundedAccount,
  refutedClaimSlash,
  stakedEdge,
  testClient,
} from './staking-support.js';

// Audit findings 3 and 5 (issue 14): share-price truncation after a deep slash, and slash orders that withdrawals
// could make revert and that never expired.
const UNBONDING = 86_400n;

let staking: StakingRef;
let set: CheckerSet;
const player = privateKeyToAccount(generatePrivateKey()).address;
const finder = privateKeyToAccount(generatePrivateKey()).address;

/** A fresh edge registered by a fresh operator with `stake` (and `extra` more ATH in the operator's wallet). */
const newEdge = (stake: bigint, extra = 0n) => stakedEdge(staking, stake, extra);

/** Two conflicting edge reports for `minute` and a checker quorum over the order. */
const slashWith = (edge: LocalAccount, minute: number, bps: number, deadline?: bigint) =>
  conflictingReportsSlash(staking, set, edge, {
    minute,
    bps,
    player,
    finder,
    ...(deadline ? { deadline } : {}),
  });

beforeAll(async () => {
  ({ staking, set } = await deployStakingFixture({ unbondingDelay: UNBONDING }));
});

describe('StakingRegistry slashing (audit findings 3 and 5)', () => {
  it('slashes a share of the pool at execution: stake withdrawn ahead of the order cannot make it revert', async () => {
    const { edge, operator } = await newEdge(1000n * ATH);
    const delegator = await fundedAccount(staking, 1000n * ATH);
    await delegate(delegator.clients, staking, edge.address, 1000n * ATH);
    const { shares } = await delegationOf(
      admin.publicClient,
      staking,
      edge.address,
      delegator.account.address,
    );
    await unbond(delegator.clients, staking, edge.address, shares);
    await testClient.increaseTime({ seconds: Number(UNBONDING) + 1 });
    await testClient.mine({ blocks: 1 });

    // The checkers sign 75 % of the pool (1 500 of 2 000 ATH when they signed) ...
    const order = await slashWith(edge, 1, 7500);
    // ... and the delegator, whose unbonding matured, withdraws first. With an absolute amount the slash would now
    // exceed the pool and revert; as a share it still lands on what is there.
    await withdrawUnbonded(delegator.clients, staking, edge.address);
    expect(await balanceOf(staking, delegator.account.address)).toBe(1000n * ATH);
    await slash(admin, staking, order);
    expect((await stakeOf(admin.publicClient, staking, edge.address, operator.account.address)).active).toBe(
      250n * ATH,
    );
    expect(await balanceOf(staking, player)).toBe(375n * ATH); // 50 % of 750
  });

  it('refuses a slash order after its deadline, and a share outside 1..10 000 bps', async () => {
    const { edge, operator } = await newEdge(1000n * ATH);
    const late = await slashWith(edge, 1, 1000, (await chainNow()) + 100n);
    await testClient.increaseTime({ seconds: 200 });
    await testClient.mine({ blocks: 1 });
    await expectCode(slash(admin, staking, late), 'CHAIN_SLASH_EXPIRED');
    await expectCode(slash(admin, staking, await slashWith(edge, 2, 10_001)), 'CHAIN_REVERTED');
    await expectCode(slash(admin, staking, await slashWith(edge, 3, 0)), 'CHAIN_REVERTED');
    expect((await stakeOf(admin.publicClient, staking, edge.address, operator.account.address)).active).toBe(
      1000n * ATH,
    );
    // The expired order's evidence was not used up: a fresh order over it still slashes.
    await slash(admin, staking, await slashWith(edge, 1, 1000));
    expect((await stakeOf(admin.publicClient, staking, edge.address, operator.account.address)).active).toBe(
      900n * ATH,
    );
  });

  it('after a deep slash a top-up gets its worth, and a pool slashed to dust takes no new stake', async () => {
    const { edge, operator } = await newEdge(10_000n * ATH, 1n * ATH);
    const active = async () =>
      (await stakeOf(admin.publicClient, staking, edge.address, operator.account.address)).active;
    // Two 99.99 % slashes: 10 000 ATH → 0.0001 ATH behind 10 000 ATH of shares (1e-8 ATH a share).
    await slash(admin, staking, await slashWith(edge, 1, 9999));
    await slash(admin, staking, await slashWith(edge, 2, 9999));
    const before = await active();
    expect(before).toBe(10n ** 14n);
    const topUp = 85n * 10n ** 15n; // 0.085 ATH
    await delegate(operator.clients, staking, edge.address, topUp);
    // Exactly what was paid in, to within the rounding of one share (in the pool's favour).
    const after = await active();
    expect(after).toBeLessThanOrEqual(before + topUp);
    expect(after).toBeGreaterThanOrEqual(before + topUp - 1n);

    // Four more: about 8 wei behind 8.5e24 shares. Before the fix, a 0.085 ATH top-up here minted ~9e40 shares,
    // truncated to uint128, and the operator got a fraction of what it paid. Now the pool is depleted: refused,
    // nothing taken.
    for (const minute of [3, 4, 5, 6]) await slash(admin, staking, await slashWith(edge, minute, 9999));
    const wallet = await balanceOf(staking, operator.account.address);
    await expectCode(delegate(operator.clients, staking, edge.address, topUp), 'CHAIN_POOL_DEPLETED');
    expect(await balanceOf(staking, operator.account.address)).toBe(wallet);
  });
});

describe('StakingRegistry.slashRefuted (an edge claim the player’s signed report refutes)', () => {
  /** The edge's report claiming 60 fps, the player's 20 fps under its session key, three checkers' signatures. */
  const refuted = (edge: LocalAccount, o: Partial<Parameters<typeof refutedClaimSlash>[3]> = {}) =>
    refutedClaimSlash(staking, set, edge, { minute: 2, bps: 1000, player, finder, ...o });
  const pool = async (edge: LocalAccount, operator: { account: { address: `0x${string}` } }) =>
    (await stakeOf(admin.publicClient, staking, edge.address, operator.account.address)).active;

  it('slashes bps of the pool and pays the player and the finder their shares to the wei, the rest burned', async () => {
    const { edge, operator } = await newEdge(1000n * ATH);
    const balances = () => Promise.all([player, finder, BURN].map((a) => balanceOf(staking, a)));
    const [player0, finder0, burn0] = await balances();
    const receipt = await slashRefuted(admin, staking, await refuted(edge, { bps: 1234 }));
    // 12.34 % of 1 000 ATH = 123.4 ATH: 50 % to the player, 10 % to the finder, 40 % burned.
    const amount = (1000n * ATH * 1234n) / 10_000n;
    const toPlayer = (amount * 5000n) / 10_000n;
    const toFinder = (amount * 1000n) / 10_000n;
    expect(await pool(edge, operator)).toBe(1000n * ATH - amount);
    expect(await balances()).toEqual([
      (player0 ?? 0n) + toPlayer,
      (finder0 ?? 0n) + toFinder,
      (burn0 ?? 0n) + amount - toPlayer - toFinder,
    ]);
    // Two report signatures, three checker signatures, three transfers (133 274–133 298 gas measured with a 3-of-5 set).
    expect(receipt.gasUsed).toBeLessThan(150_000n);
  });

  it('slashes once per edge and session: the same evidence or another refuted minute of it is refused', async () => {
    const { edge, operator } = await newEdge(1000n * ATH);
    const first = await refuted(edge, { minute: 1 });
    await slashRefuted(admin, staking, first);
    await expectCode(slashRefuted(admin, staking, first), 'CHAIN_EVIDENCE_USED');
    const sameSession = await refuted(edge, { minute: 3, sessionId: first.order.sessionId });
    await expectCode(slashRefuted(admin, staking, sameSession), 'CHAIN_EVIDENCE_USED');
    expect(await pool(edge, operator)).toBe(900n * ATH);
    // The refuted kind has its own key: an equivocation of the same session and minute still slashes.
    await slash(admin, staking, await slashWith(edge, 1, 1000));
    expect(await pool(edge, operator)).toBe(810n * ATH);
  });

  it('refuses a player report not signed by the session key the order names, and edge evidence not the edge’s', async () => {
    const { edge, operator } = await newEdge(1000n * ATH);
    const stranger = privateKeyToAccount(generatePrivateKey());
    await expectCode(
      slashRefuted(admin, staking, await refuted(edge, { playerSigner: stranger })),
      'CHAIN_INVALID_PLAYER_REPORT',
    );
    const forged = await refuted(edge);
    const other = await refuted(stranger, { sessionId: forged.order.sessionId });
    await expectCode(
      slashRefuted(admin, staking, {
        ...forged,
        evidence: { ...forged.evidence, edge: other.evidence.edge },
      }),
      'CHAIN_INVALID_EVIDENCE',
    );
    // A player link of another minute does not match the order's hash either.
    const moved = await refuted(edge, { minute: 4, sessionId: forged.order.sessionId });
    await expectCode(
      slashRefuted(admin, staking, {
        ...forged,
        evidence: { ...forged.evidence, player: moved.evidence.player },
      }),
      'CHAIN_INVALID_PLAYER_REPORT',
    );
    expect(await pool(edge, operator)).toBe(1000n * ATH);
  });

  it('refuses an order below the checker quorum, and a player count that does not refute the claim', async () => {
    const { edge, operator } = await newEdge(1000n * ATH);
    await expectCode(slashRefuted(admin, staking, await refuted(edge, { signers: 2 })), 'CHAIN_BELOW_QUORUM');
    await expectCode(
      slashRefuted(admin, staking, await refuted(edge, { edgeFrames: 1800, playerFrames: 1800 })),
      'CHAIN_NOT_REFUTED',
    );
    expect(await pool(edge, operator)).toBe(1000n * ATH);
    // The refused attempts used nothing up.
    await slashRefuted(admin, staking, await refuted(edge));
    expect(await pool(edge, operator)).toBe(900n * ATH);
  });
});

const BURN = '0x000000000000000000000000000000000000dEaD' as const;
