import { pino } from 'pino';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { stakingRegistryAbi } from '../../contracts-client/src/abis/StakingRegistry.js';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { paidMinutes } from '../../contracts-client/src/escrow.js';
import { isEvidenceUsed, refutedEvidenceKey } from '../../contracts-client/src/staking.js';
import { watchPageReports } from '../support/paidNetwork.js';
import {
  decidedEvidence,
  type PaidPlay,
  playBilled,
  sessionEndedAtEdge,
  startPaidPlay,
} from '../support/paidPlay.js';
import { until } from '../support/playerPage.js';

// A lying edge is caught from the player's side: on a paid local network whose checkers slash refuted claims, the
// edge's reports claim far more frames than it sends (through startEdgeBilling's test-only `reportTransform`); the
// page's own signed reports refute them. The refuted periods are unbilled, the checkers co-sign a RefutedSlash order
// and one submits it: the edge's pool loses `refutedSlashBps` of its stake, the page's player and the finder get
// their shares, to the wei, and the submitting checker keeps the outcome with its evidence.
const PERIOD = 3000;
const GRACE = 1500;
const PRICE = 10n ** 15n;
/** The checkers' default `refutedSlashBps`. */
const REFUTED_SLASH_BPS = 1000n;
const logger = pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' });

interface Evidence {
  reports: { minute: number }[];
  verdicts: { minute: number; billable: boolean; contradiction: boolean; reasons: string[] }[];
  contradictions: { kind: string; status?: string; tx?: Hex; minute?: number }[];
  billableMinutes: number;
}

describe('a lying edge in the player page', () => {
  let play: PaidPlay;

  beforeAll(async () => {
    play = await startPaidPlay({
      periodMs: PERIOD,
      graceMs: GRACE,
      price: PRICE,
      logger,
      network: { refutedSlashing: { staggerMs: 1000 } },
      edge: {
        // The lie: every report claims 60 fps worth of frames more than three times what was sent, far above what
        // the page decodes (the policy refutes a claim the player's count is below half of).
        reportTransform: (_billingId, _minute, figures) => ({
          ...figures,
          metrics: {
            ...figures.metrics,
            frames: figures.metrics.frames * 3 + Math.ceil((60 * PERIOD) / 1000),
          },
        }),
      },
    });
  }, 240_000);

  afterAll(async () => {
    await play?.close();
  }, 60_000);

  it('leaves the refuted periods unbilled, slashes the edge on chain and pays the player and the finder their shares', async () => {
    const { net, browser, billing } = play;
    const { chains } = net;
    const edgeAddress = chains.accounts.edge.address;
    const stakingRef = {
      address: net.stakingAddress,
      chainId: chains.staking.chainId,
      token: chains.staking.deployment.token as Address,
    };
    const at = (blockNumber: bigint) => ({ blockNumber });
    const poolStake = async (blockNumber: bigint) =>
      (
        await net.staking.readContract({
          address: stakingRef.address,
          abi: stakingRegistryAbi,
          functionName: 'pools',
          args: [edgeAddress],
          ...at(blockNumber),
        })
      )[2];
    const athOf = (who: Address, blockNumber: bigint) =>
      net.staking.readContract({
        address: stakingRef.token,
        abi: testATHAbi,
        functionName: 'balanceOf',
        args: [who],
        ...at(blockNumber),
      });
    const bpsOf = (functionName: 'playerBps' | 'finderBps') =>
      net.staking.readContract({ address: stakingRef.address, abi: stakingRegistryAbi, functionName });
    const startBlock = await net.staking.getBlockNumber();

    const page = await browser.context.newPage();
    const reports = watchPageReports(page);
    await playBilled(page, net, { timeoutMs: 120_000, what: 'the lying edge’s stream to play' });
    const billingId = (await until(reports.billingId, (id) => id !== undefined, {
      timeoutMs: 60_000,
      what: "the page's first report",
    })) as Hex;
    // The page's own reports refute the edge's claim; the checkers co-sign and one of them slashes.
    await until(
      () => isEvidenceUsed(net.staking, stakingRef, refutedEvidenceKey(edgeAddress, billingId)),
      (used) => used,
      { timeoutMs: 180_000, stepMs: 500, what: 'the refuted-claim slash on chain' },
    );
    await page.close();

    const checker = new CheckerClient(net.checkerUrls[0] ?? '');
    const player = (await checker.grant(billingId)).grant.player as Address;
    const [slashed, ...more] = await net.staking.getContractEvents({
      address: stakingRef.address,
      abi: stakingRegistryAbi,
      eventName: 'SlashedRefuted',
      args: { edge: edgeAddress, sessionId: billingId },
      fromBlock: startBlock,
    });
    expect(more).toHaveLength(0);
    const args = slashed?.args;
    if (
      slashed?.blockNumber == null ||
      args?.amount === undefined ||
      args.toPlayer === undefined ||
      args.toFinder === undefined
    )
      throw new Error('no SlashedRefuted event for the session');
    const finder = (await net.staking.getTransaction({ hash: slashed.transactionHash })).from;
    // refutedSlashBps of the pool as it stood just before the slash, taken from it exactly.
    const before = slashed.blockNumber - 1n;
    const stakeBefore = await poolStake(before);
    expect(args.amount).toBe((stakeBefore * REFUTED_SLASH_BPS) / 10_000n);
    expect(args.amount).toBeGreaterThan(0n);
    expect(await poolStake(slashed.blockNumber)).toBe(stakeBefore - args.amount);
    // playerBps of it to the grant's player (the page's wallet), finderBps to the submitting checker.
    expect(args.toPlayer).toBe((args.amount * BigInt(await bpsOf('playerBps'))) / 10_000n);
    expect(args.toPlayer).toBeGreaterThan(0n);
    expect((await athOf(player, slashed.blockNumber)) - (await athOf(player, before))).toBe(args.toPlayer);
    expect(args.toFinder).toBe((args.amount * BigInt(await bpsOf('finderBps'))) / 10_000n);
    expect((await athOf(finder, slashed.blockNumber)) - (await athOf(finder, before))).toBe(args.toFinder);

    // The refuted periods are not billed, for the refuted frames; the operator is paid exactly the billed ones.
    await sessionEndedAtEdge(billing, billingId, 60_000);
    const evidence = await decidedEvidence<Evidence>(checker, billingId, 60_000);
    const refuted = evidence.verdicts.filter((v) => v.contradiction);
    expect(refuted.length).toBeGreaterThan(0);
    for (const v of refuted) {
      expect(v.billable, JSON.stringify(v)).toBe(false);
      expect(v.reasons, JSON.stringify(v)).toContain('frames-lost');
    }
    expect(evidence.contradictions.some((c) => c.kind === 'refuted')).toBe(true);
    await billing.agent.settleNow();
    expect(await paidMinutes(net.payments, net.escrow, edgeAddress, billingId)).toBe(
      evidence.billableMinutes,
    );

    // Exactly one checker submitted it, the finder, and kept the outcome (its transaction) with its evidence.
    const outcomes = await until(
      () =>
        Promise.all(
          net.checkerUrls.map(async (url) => {
            const c = new CheckerClient(url);
            const e = (await c.evidence(billingId)) as unknown as Evidence;
            const slashes = e.contradictions.filter((x) => x.kind === 'refuted-slash');
            return { checker: (await c.health()).checker, slashes };
          }),
        ),
      (all) => all.some((o) => o.slashes.some((s) => s.status === 'slashed')),
      { timeoutMs: 60_000, what: 'the submitting checker to record its slash' },
    );
    const submitted = outcomes.filter((o) => o.slashes.some((s) => s.status === 'slashed'));
    expect(submitted).toHaveLength(1);
    expect(submitted[0]?.checker.toLowerCase()).toBe(finder.toLowerCase());
    expect(submitted[0]?.slashes.find((s) => s.status === 'slashed')?.tx).toBe(slashed.transactionHash);
  }, 420_000);
});
