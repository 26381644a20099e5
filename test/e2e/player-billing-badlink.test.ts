import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { paidMinutes } from '../../contracts-client/src/escrow.js';
import { QosRole } from '../../protocol/eip712.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { type PaidNetwork, startPaidNetwork, watchPageReports } from '../support/paidNetwork.js';
import { decidedEvidence, playBilled } from '../support/paidPlay.js';
import { readHook, runInPage, until } from '../support/playerPage.js';
import { NetLabEdge } from '../tools/NetLabEdge.js';
import { createNetLab, type NetLab } from '../tools/netlab/createNetLab.js';
import { netLabUnsupportedReason } from '../tools/netlab/netLabUnsupportedReason.js';

// A bad link is not paid for, to the wei. The real edge program runs in a netlab namespace (registered with the
// matchmaker, reporting to three checkers, settling on anvil); Chromium, the matchmaker, the checkers and the chains
// are on the other side of the emulated link. The page plays for five 8 s periods; for periods 1 and 2 the edge's
// link gets delay, 5 % loss and a bandwidth cap, then is restored. The checkers must mark exactly those two
// unbillable (for the loss), the page's timeline must say so, and the edge's own settlement must move exactly the
// three good periods × price from the player's deposit to the operator's earnings.
//
// Whole periods: each side has its own period clock (the edge's starts at its first frame sent, the page's at its
// first frame decoded, a little later). The link is degraded only once BOTH clocks have closed period 0 (the edge's
// reporter count, asked over stdin, and the page's report of period 0, seen leaving the browser), and restored
// RESTORE_MARGIN_MS before the EARLIER of the two clocks closes period 2 (predicted from when each was seen closing
// period 0; the clocks only ever run late, so the prediction is early, never late). The margin is longer than
// Chromium's receiver-report interval (at most 1.5 s), so no receiver report describing the bad link lands in period
// 3, and it lets a freeze the bad link caused end inside period 2; each bad period still spends most of its time on
// the bad link. Both switches are checked to have happened inside the intended period on both clocks (else the test
// says the machine was too slow, rather than blaming billing). The edge adapts its bitrate to the link but not its
// picture size: a step of the picture re-opens the encoder (a keyframe, a short freeze) seconds after the link
// recovers, more than a short period's freeze allowance (400 ms for 8 s), though well inside a 60 s one's. Periods of 8 s
// rather than 3-5 s keep one hiccup of a busy 2-core machine inside a good period's allowances.
//
// The good periods are billable only while the machine keeps the game's 30 fps and a short RTT: on a heavily
// loaded machine they fail the policy for that (below-target-fps, freeze, rtt), and the test says so with the
// verdict's figures.

const unsupported = netLabUnsupportedReason();
if (unsupported !== null) {
  // biome-ignore lint/suspicious/noConsole: tell whoever runs the suite why this test skips
  console.warn(`player-billing-badlink test skipped: ${unsupported}`);
}

const PERIOD = 8000;
const GRACE = 4000;
const PRICE = 10n ** 15n;
const GOOD_BEFORE = 1;
const BAD = [1, 2];
const PERIODS = 5;
const RESTORE_MARGIN_MS = 2000;
/** Good link: RTT 2·(2 + 3) = 10 ms. */
const GOOD = { delayMs: 3, lossPct: 0, rateKbit: 0 };
/**
 * Bad link: RTT 2·(2 + 30) = 64 ms (under the policy's RTT limit: the loss must decide), 5 % loss each way, and the
 * edge's uplink capped at 1 Mbit/s: the latency probe's mostly still picture needs about 220 kbit/s on average, but
 * its bursts (keyframes, resent packets) overflow the cap's 50 ms queue. A cap under the average rate freezes the
 * picture for seconds and queues the edge's RTCP, which then spill into the next period.
 */
const BAD_LINK = { delayMs: 30, lossPct: 5, rateKbit: 1000 };
const logger = pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' });

interface Evidence {
  reports: { minute: number; role: number }[];
  verdicts: { minute: number; billable: boolean; reasons: string[]; figures: unknown }[];
  billableMinutes: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

describe.skipIf(unsupported !== null)('billing over a bad link (netlab, Chromium, anvil)', () => {
  let lab: NetLab;
  let net: PaidNetwork;
  let edge: NetLabEdge;
  let browser: LaunchedChromium;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'farplay-badlink-'));
    lab = await createNetLab({
      hosts: [
        { name: 'root', delayMs: 2 },
        { name: 'edge', delayMs: GOOD.delayMs },
      ],
    });
    net = await startPaidNetwork({
      periodMs: PERIOD,
      graceMs: GRACE,
      logger,
      host: lab.host('root').ip,
      deploymentsDir: join(dir, 'deployments'),
    });
    const { chains } = net;
    edge = await NetLabEdge.start(lab.host('edge'), {
      billedEnv: {
        FARPLAY_EDGE_NODE_PRIVATE_KEY: chains.privateKeys.edge,
        FARPLAY_EDGE_MATCHMAKER_URL: net.matchmakerUrl,
        // A separate process: it must pin this matchmaker's key (its messages are signed for its deployment).
        FARPLAY_EDGE_MATCHMAKER_PUBLIC_KEY: net.matchmaker.sessionPublicKey,
        FARPLAY_EDGE_PRICE_PER_MINUTE: PRICE.toString(),
        FARPLAY_EDGE_CAPACITY: '1',
        FARPLAY_EDGE_ENCODERS: '["libx264"]',
        // Bitrate follows the link; the picture size does not (see the note at the top).
        FARPLAY_EDGE_ADAPT_RESOLUTION: 'false',
        FARPLAY_EDGE_PAYMENTS_RPC_URL: chains.payments.rpcUrl,
        FARPLAY_EDGE_PAYMENTS_CHAIN_ID: String(chains.payments.chainId),
        FARPLAY_EDGE_STAKING_CHAIN_ID: String(chains.staking.chainId),
        FARPLAY_EDGE_DEPLOYMENTS_DIR: join(dir, 'deployments'),
        FARPLAY_EDGE_QOS_OUTBOX_DIR: join(dir, 'qos-outbox'),
        FARPLAY_EDGE_SPENT_TOKENS_FILE: join(dir, 'spent-tokens'),
        FARPLAY_EDGE_QOS_PERIOD_MS: String(PERIOD),
        FARPLAY_EDGE_QOS_REPORT_GRACE_MS: String(GRACE),
        FARPLAY_EDGE_LOG_LEVEL: process.env.EDGE_TEST_LOG ?? 'silent',
      },
    });
    await until(
      () => net.matchmaker.app.matchmaker.refresh().then(() => net.matchmaker.app.matchmaker.edges().length),
      (n) => n === 1,
      { timeoutMs: 30_000, what: 'the namespaced edge registered at the matchmaker' },
    );
    browser = await launchChromium({ viewport: { width: 960, height: 600 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await edge?.close();
    await net?.close();
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Periods the edge's reporter has closed for the session (its own period clock). */
  async function edgePeriods(sessionId: string): Promise<number> {
    return edge.periods(sessionId);
  }

  it('leaves exactly the periods played on a lossy, capped, delayed link unpaid, to the wei', async () => {
    const page = await browser.context.newPage();
    // The page's period clock as it runs: when each of its reports (one per period) leaves the browser.
    const reports = watchPageReports(page);
    const pageClosedAt = reports.sentAt;
    try {
      await playBilled(page, net);
      const sessionId = (await readHook(page, 'sessionId')) as string;
      const billingId = (await until(reports.billingId, (id) => id !== undefined, {
        timeoutMs: 30_000,
        what: "the page's first report",
      })) as Hex;
      const checker = new CheckerClient(net.checkerUrls[0] ?? '');
      const payer = (await checker.grant(billingId)).grant.player as Address;
      const depositBefore = await net.balanceOf(payer);
      /** Throws unless both clocks are in period `minute` (a switch meant for it happened inside it). */
      const expectInsidePeriod = async (minute: number, what: string): Promise<void> => {
        const edgeNow = await edgePeriods(sessionId);
        const pageNow = Math.max(-1, ...pageClosedAt.keys()) + 1;
        if (edgeNow !== minute || pageNow !== minute)
          throw new Error(
            `the link was ${what} outside period ${minute} (edge in ${edgeNow}, page in ${pageNow}): this machine ` +
              'is too slow for the test to switch inside one period',
          );
      };

      // Both clocks close period GOOD_BEFORE − 1; the link goes bad at once.
      const edgeSeen = await until(
        async () => ({ periods: await edgePeriods(sessionId), at: Date.now() }),
        (s) => s.periods >= GOOD_BEFORE,
        { timeoutMs: 60_000, what: `the edge's period ${GOOD_BEFORE - 1} closed` },
      );
      const pageSeen = await until(
        () => pageClosedAt.get(GOOD_BEFORE - 1),
        (at) => at !== undefined,
        { timeoutMs: 30_000, what: `the page's report of period ${GOOD_BEFORE - 1}` },
      );
      await lab.setLink('edge', BAD_LINK);
      await expectInsidePeriod(GOOD_BEFORE, 'degraded');

      // Restore before the earlier clock closes the last bad period.
      const lastBadEnd = Math.min(edgeSeen.at, pageSeen as number) + BAD.length * PERIOD;
      await sleep(lastBadEnd - RESTORE_MARGIN_MS - Date.now());
      await lab.setLink('edge', GOOD);
      await expectInsidePeriod(GOOD_BEFORE + BAD.length - 1, 'restored');

      // Play on until both sides have closed PERIODS periods and the checkers hold the page's last report.
      await until(
        () => edgePeriods(sessionId),
        (n) => n >= PERIODS,
        { timeoutMs: 60_000, what: `the edge's ${PERIODS} periods` },
      );
      await until(
        () => checker.minuteReports(billingId, PERIODS - 1),
        (r) => r.player && r.edge,
        { timeoutMs: 30_000, what: `both reports of period ${PERIODS - 1} at the checker` },
      );
      // The page's per-minute timeline shows the verdicts as they come (1-based minutes).
      const timeline = await until(
        () => timelineOf(page),
        (items) => items.length >= PERIODS,
        { timeoutMs: 30_000, what: `${PERIODS} verdicts in the page's timeline` },
      );
      await page.close();

      // The page left: the edge ends the session and its agent settles on its own once the last periods are decided.
      const evidence = await decidedEvidence<Evidence>(checker, billingId, 30_000);
      const reported = (role: number) =>
        new Set(evidence.reports.filter((r) => r.role === role).map((r) => r.minute));
      const edgeReported = reported(QosRole.edge);
      const playerReported = reported(QosRole.player);
      // Every period both ends reported is billed except the bad ones; a trailing period the page left during
      // (reported by the edge alone) is not billed either.
      const played = [...edgeReported].filter((m) => playerReported.has(m)).sort((a, b) => a - b);
      expect(played.slice(0, PERIODS)).toEqual([...Array(PERIODS).keys()]);
      for (const v of evidence.verdicts) {
        const full = played.includes(v.minute);
        const bad = BAD.includes(v.minute);
        expect(v.billable, JSON.stringify(v)).toBe(full && !bad);
        if (bad) expect(v.reasons, JSON.stringify(v)).toContain('loss');
        if (!full) expect(v.reasons, JSON.stringify(v)).toEqual(['no-player-report']);
      }
      const billed = played.length - BAD.length;
      expect(evidence.billableMinutes).toBe(billed);
      // The page showed the same: the bad periods not billed, for the loss; the others billed.
      for (const [minute, item] of timeline.slice(0, PERIODS).entries()) {
        if (BAD.includes(minute)) {
          expect(item.billable, item.text).toBe('false');
          expect(item.text).toMatch(new RegExp(`^${minute + 1}: not billed \\(.*loss.*\\)$`));
        } else {
          expect(item.billable, item.text).toBe('true');
          expect(item.text).toBe(`${minute + 1}: billed`);
        }
      }

      const paid = await until(
        () => paidMinutes(net.payments, net.escrow, net.chains.accounts.edge.address, billingId),
        (n) => n === billed,
        { timeoutMs: 60_000, what: `the edge's agent to settle ${billed} periods on chain` },
      );
      expect(paid).toBe(billed);
      expect(await net.edgeEarnings([billingId])).toBe(BigInt(billed) * PRICE);
      expect(depositBefore - (await net.balanceOf(payer))).toBe(BigInt(billed) * PRICE);
    } finally {
      if (!page.isClosed()) await page.close();
    }
  });
});

/** The page's per-minute timeline: each item's `data-billable` and text. */
function timelineOf(page: Page): Promise<{ billable: string | null; text: string }[]> {
  return runInPage(
    page,
    `() => [...document.querySelectorAll('.bill li')].map((li) => ({
      billable: li.getAttribute('data-billable'),
      text: li.textContent ?? '',
    }))`,
  );
}
