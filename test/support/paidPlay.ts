import type { Logger } from 'pino';
import type { Page } from 'playwright-core';
import type { Hex } from 'viem';
import type { CheckerClient } from '../../checker/client/CheckerClient.js';
import type { RunningEdgeBilling } from '../../edge/billing/startEdgeBilling.js';
import { type LaunchedChromium, launchChromium } from './chromium.js';
import {
  type PaidEdge,
  type PaidEdgeOptions,
  type PaidNetwork,
  type PaidNetworkOptions,
  startPaidEdge,
  startPaidNetwork,
} from './paidNetwork.js';
import { readHook, until } from './playerPage.js';

// What the billed e2e tests (test/e2e/player-billing*.test.ts) share: the paid network with its in-process edge
// and a Chromium, the page opened on the billed game until it plays, and the waits on the edge's and the checkers'
// side of a session.

export interface PaidPlayOptions {
  periodMs: number;
  graceMs: number;
  /** ATH wei per period the edge asks. */
  price: bigint;
  logger: Logger;
  /** More network options (refuted-claim slashing, …). */
  network?: Omit<PaidNetworkOptions, 'periodMs' | 'graceMs' | 'logger'>;
  /** More edge options (a lying `reportTransform`, …). */
  edge?: Omit<PaidEdgeOptions, 'price' | 'periodMs' | 'graceMs' | 'logger'>;
}

/** A paid network, the demo edge on it (startPaidEdge) and a Chromium; `close()` stops them, the browser first. */
export interface PaidPlay extends PaidEdge {
  net: PaidNetwork;
  browser: LaunchedChromium;
  close(): Promise<void>;
}

/** Starts a paid network, the demo edge on it and a Chromium (what a billed e2e test's `beforeAll` needs). */
export async function startPaidPlay(o: PaidPlayOptions): Promise<PaidPlay> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const { periodMs, graceMs, logger } = o;
    const net = await startPaidNetwork({ periodMs, graceMs, logger, ...o.network });
    closers.push(() => net.close());
    const edge = await startPaidEdge(net, { price: o.price, periodMs, graceMs, logger, ...o.edge });
    closers.push(
      () => edge.server.close(),
      () => edge.control.close(),
      () => edge.billing.close(),
    );
    const browser = await launchChromium();
    closers.push(() => browser.close());
    return { net, ...edge, browser, close };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

/** Opens the player page on the billed latency-probe game and waits until it plays. */
export async function playBilled(
  page: Page,
  net: PaidNetwork,
  wait: { timeoutMs: number; what?: string } = { timeoutMs: 90_000 },
): Promise<void> {
  await page.goto(`${net.pageUrl}/#/play/latency-probe-30`);
  await until(
    () => readHook(page, 'state'),
    (state) => state === 'playing',
    { timeoutMs: wait.timeoutMs, what: wait.what ?? 'the billed stream to play' },
  );
}

type AgentSession = ReturnType<RunningEdgeBilling['agent']['status']>[number];

/** Waits until the edge's billing agent has ended the session `billingId` (the page left); returns its status. */
export function sessionEndedAtEdge(
  billing: RunningEdgeBilling,
  billingId: Hex,
  timeoutMs: number,
): Promise<AgentSession | undefined> {
  return until(
    async () => billing.agent.status().find((s) => s.sessionId.toLowerCase() === billingId),
    (s) => s?.ended === true,
    { timeoutMs, what: 'the session to end at the edge' },
  );
}

/** The checker's evidence on `billingId` once every period either side reported is decided. */
export function decidedEvidence<
  E extends { reports: readonly { minute: number }[]; verdicts: readonly unknown[] },
>(checker: CheckerClient, billingId: Hex, timeoutMs: number): Promise<E> {
  return until(
    async () => (await checker.evidence(billingId)) as unknown as E,
    (e) => e.verdicts.length > 0 && e.verdicts.length === new Set(e.reports.map((r) => r.minute)).size,
    { timeoutMs, what: 'every reported period decided' },
  );
}
