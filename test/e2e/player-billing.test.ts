import { pino } from 'pino';
import type { Route } from 'playwright-core';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { paidMinutes } from '../../contracts-client/src/escrow.js';
import { localPrivateKey } from '../../contracts-client/src/localChain.js';
import { watchPageReports } from '../support/paidNetwork.js';
import {
  decidedEvidence,
  type PaidPlay,
  playBilled,
  sessionEndedAtEdge,
  startPaidPlay,
} from '../support/paidPlay.js';
import { readHook, until } from '../support/playerPage.js';

// The page pays for what it plays: Chromium opens the player served by a matchmaker on a paid local network
// (two anvil chains, three checkers with quorum 2, a faucet). The page makes its local wallet, is funded by the
// faucet, deposits, signs one grant, streams and reports each short period with its session key; the edge reports
// too. The page's bill shows the checkers' verdicts; when the player leaves, the edge's agent settles and the
// operator is paid exactly the periods the checkers billed, to the wei.
const PERIOD = 3000;
const GRACE = 1500;
const PRICE = 10n ** 15n;
const logger = pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' });

describe('billing in the player page', () => {
  let play: PaidPlay;
  const urls0 = () => play.net.checkerUrls[0] ?? '';

  beforeAll(async () => {
    play = await startPaidPlay({ periodMs: PERIOD, graceMs: GRACE, price: PRICE, logger });
  }, 180_000);

  afterAll(async () => {
    await play?.close();
  });

  it('funds the page wallet, bills the streamed periods in the page and pays the operator exactly those', async () => {
    const { net, browser, billing } = play;
    const page = await browser.context.newPage();
    const reports = watchPageReports(page);
    await playBilled(page, net);
    // The page's bill lists the checkers' verdicts as they come; wait for three decided periods.
    await until(
      () => page.locator('.bill li').count(),
      (n) => n >= 3,
      { timeoutMs: 60_000, what: 'three verdicts in the page' },
    );
    expect(await page.textContent('.bill')).toMatch(/Minutes played \d+ · billed \d+/);
    // The on-chain id the page reports under (the grant's; the matchmaker hands them out in runs).
    const billingId = reports.billingId() as Hex;
    expect(billingId).toMatch(/^0x[0-9a-f]{64}$/);
    // No injected wallet in this browser: the page's own local wallet pays, and says so.
    expect(await page.textContent('.wallet-kind')).toBe('Local wallet');
    await page.close();

    const checker = new CheckerClient(urls0());
    const ended = await sessionEndedAtEdge(billing, billingId, 30_000);
    expect(ended?.ended).toBe(true);
    // Every period either side reported is decided (both in, or the grace passed).
    const evidence = await decidedEvidence<{
      reports: { minute: number }[];
      verdicts: { minute: number; billable: boolean; reasons: string[]; figures: unknown }[];
      billableMinutes: number;
    }>(checker, billingId, 30_000);
    await billing.agent.settleNow();
    const paid = await paidMinutes(net.payments, net.escrow, net.chains.accounts.edge.address, billingId);
    // Both ends reported every period before the last (whether a period was good is the machine's QoS: on a
    // loaded 2-core machine 720p30 falls below the policy's fps floor, and then nothing is paid, correctly).
    const inner = evidence.verdicts.filter((v) => v.minute < evidence.verdicts.length - 1);
    for (const v of inner) {
      expect(v.reasons, JSON.stringify(v)).not.toContain('no-player-report');
      expect(v.reasons, JSON.stringify(v)).not.toContain('no-edge-report');
    }
    expect(paid).toBe(evidence.billableMinutes);
    expect(await net.edgeEarnings([billingId])).toBe(BigInt(paid) * PRICE);
  });

  it('pauses the stream with a clear message while the page’s reports are held back, and plays again when they go out', async () => {
    const { net, browser } = play;
    const page = await browser.context.newPage();
    // The page's reports to the checkers are held in the browser (as a page that withholds them would), then sent.
    const held: Route[] = [];
    let holding = false;
    await page.route('**/v1/sessions/*/reports', (route) => {
      if (holding && route.request().method() === 'POST') held.push(route);
      else void route.continue();
    });
    await playBilled(page, net);
    await until(
      () => page.locator('.bill li').count(),
      (n) => n >= 1,
      { timeoutMs: 60_000, what: 'a first verdict in the page' },
    );
    holding = true;
    const overlay = page.locator('.overlay');
    await overlay.getByText('Stream paused').waitFor({ timeout: 60_000 });
    expect(await overlay.textContent()).toContain('EDGE_PLAYER_REPORTS_MISSING');
    expect(await page.isVisible('.overlay')).toBe(true);
    const decodedAtPause = (await readHook(page, 'framesDecoded')) as number;

    holding = false;
    for (const route of held.splice(0)) await route.continue().catch(() => {});
    await overlay.getByText('Stream paused').waitFor({ state: 'hidden', timeout: 60_000 });
    await until(
      () => readHook(page, 'framesDecoded'),
      (n) => (n as number) > decodedAtPause + 10,
      { timeoutMs: 30_000, what: 'frames after the resume' },
    );
    await page.close();
  });

  it('pays with an injected EIP-1193 wallet: shows it, reports a refused deposit, deposits on the button, signs the grant', async () => {
    const { net, browser } = play;
    // The test page's window.ethereum forwards JSON-RPC to the payments anvil, where this account is unlocked
    // (eth_sendTransaction, eth_signTypedData_v4); its first transaction is refused as a user would refuse it.
    // Like a wallet a player brings, it starts on another chain (1) and does not know the payments chain: the page
    // must add it (wallet_addEthereumChain) and switch before it sends or signs.
    const injected = privateKeyToAccount(localPrivateKey(11)).address;
    const payments = `0x${net.chains.payments.chainId.toString(16)}`;
    const page = await browser.context.newPage();
    const reports = watchPageReports(page);
    await page.addInitScript(`(() => {
      const rpcUrl = ${JSON.stringify(net.chains.payments.rpcUrl)};
      const account = ${JSON.stringify(injected)};
      const payments = ${JSON.stringify(payments)};
      let refuseNext = true;
      let id = 0;
      let chainId = '0x1';
      const known = new Set(['0x1']);
      window.__walletCalls = [];
      window.ethereum = {
        async request({ method, params }) {
          if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [account];
          if (method === 'eth_chainId') return chainId;
          if (method === 'wallet_addEthereumChain') {
            window.__walletCalls.push({ method, chainId: params[0].chainId, rpcUrls: params[0].rpcUrls });
            known.add(params[0].chainId);
            return null;
          }
          if (method === 'wallet_switchEthereumChain') {
            window.__walletCalls.push({ method, chainId: params[0].chainId });
            if (!known.has(params[0].chainId))
              throw Object.assign(new Error('Unrecognized chain ID'), { code: 4902 });
            chainId = params[0].chainId;
            return null;
          }
          if ((method === 'eth_sendTransaction' || method === 'eth_signTypedData_v4') && chainId !== payments)
            throw Object.assign(new Error('wrong chain for ' + method), { code: 4901 });
          if (method === 'eth_sendTransaction' && refuseNext) {
            refuseNext = false;
            throw Object.assign(new Error('User rejected the request.'), { code: 4001 });
          }
          const res = await fetch(rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: params ?? [] }),
          });
          const json = await res.json();
          if (json.error) throw Object.assign(new Error(json.error.message), { code: json.error.code });
          return json.result;
        },
      };
    })();`);
    await page.goto(`${net.pageUrl}/#/play/latency-probe-30`);
    await page
      .locator('.wallet-status.error')
      .getByText('User rejected the request')
      .waitFor({ timeout: 60_000 });
    expect(await page.textContent('.wallet-kind')).toBe('Injected wallet');
    expect(await page.textContent('[data-slot="account"]')).toContain(injected.slice(0, 10));

    await page.getByRole('button', { name: 'Deposit 10 ATH' }).click();
    // Approve + deposit through the wallet (the page's retries may top up too: at least the 10 ATH are in escrow).
    await until(
      () => page.textContent('[data-slot="account"]'),
      (text) => Number(/([0-9.]+) ATH available in escrow/.exec(text ?? '')?.[1] ?? 0) >= 10,
      { timeoutMs: 60_000, what: 'the deposit in escrow' },
    );
    // The session request was refused without the deposit; a reconnect now plays, with a grant the wallet signed.
    await until(
      async () => {
        const state = await readHook(page, 'state');
        if (state === 'dropped')
          await page
            .getByRole('button', { name: 'Reconnect' })
            .click({ timeout: 2000 })
            .catch(() => {});
        return state;
      },
      (state) => state === 'playing',
      { timeoutMs: 90_000, what: 'the stream paid by the injected wallet to play' },
    );
    const billingId = (await until(reports.billingId, (id) => id !== undefined, {
      timeoutMs: 60_000,
      what: "the page's first report",
    })) as Hex;
    const opened = await new CheckerClient(urls0()).grant(billingId);
    expect(opened.grant.player.toLowerCase()).toBe(injected.toLowerCase());
    // The page asked the wallet to switch, was told the chain is unknown, added it with the network's RPC, switched.
    const calls = (await page.evaluate('window.__walletCalls')) as { method: string; chainId: string }[];
    expect(calls.slice(0, 3)).toEqual([
      { method: 'wallet_switchEthereumChain', chainId: payments },
      { method: 'wallet_addEthereumChain', chainId: payments, rpcUrls: [net.chains.payments.rpcUrl] },
      { method: 'wallet_switchEthereumChain', chainId: payments },
    ]);
    await until(
      () => page.locator('.bill li').count(),
      (n) => n >= 1,
      { timeoutMs: 60_000, what: 'a verdict in the page' },
    );
    await page.close();
  });
});
