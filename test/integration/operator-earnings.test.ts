import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEther, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import type { EdgeEarnings } from '../../edge/billing/readEarnings.js';
import {
  type BillingNetwork,
  playBilledSession,
  settleUntilPaid,
  startBillingNetwork,
} from './billing-network-support.js';
import { runCli } from './operator-support.js';

// What an operator sees of the money: the edge's loopback-only /v1/earnings and `farplay-edge status` read the
// settlement agent, the escrow on anvil and the checkers' verdicts. The player reports an RTT over the policy for
// the last two periods, so the status names that metric, from the checkers' verdicts, as why the edge is not earning.
const PERIOD = 3000;
const PRICE = parseEther('0.01');
const PERIODS = 5;
const BAD_FROM = 3;
let net: BillingNetwork;
let dir: string;

beforeAll(async () => {
  // Chains of its own: this test depends on chain time (the grant's expiry at settlement).
  net = await startBillingNetwork({ periodMs: PERIOD, graceMs: 2000, price: PRICE });
  dir = mkdtempSync(join(tmpdir(), 'farplay-earnings-'));
}, 120_000);

afterAll(async () => {
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the operator’s earnings', () => {
  it('shows minutes played, attested, paid and pending, the settlement and why a session does not earn', async () => {
    const { grant } = await playBilledSession(net, {
      periods: PERIODS,
      playerFigures: (minute) => (minute >= BAD_FROM ? { rttMs: 400 } : {}),
    });
    const checker = new CheckerClient(net.checkerUrls[0] ?? '');
    const { verdicts } = await checker.verdicts(grant.sessionId);
    expect(
      verdicts.filter((v) => v.minute >= BAD_FROM).every((v) => v.reasons.includes('rtt')),
      JSON.stringify(verdicts),
    ).toBe(true);
    const { evidence, paid } = await settleUntilPaid(net, grant, checker);
    const billableMinutes = evidence.billableMinutes;
    expect(paid).toBe(billableMinutes);

    // Operator-only: another machine gets 403.
    const remote = await net.edge.app.inject({ url: '/v1/earnings', remoteAddress: '203.0.113.7' });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ code: 'EDGE_OPERATOR_ONLY' });
    const earnings = (await (await fetch(`${net.edge.url}/v1/earnings`)).json()) as EdgeEarnings;
    const session = earnings.sessions.find((s) => s.sessionId === grant.sessionId);
    expect(session, JSON.stringify(earnings)).toMatchObject({
      attested: billableMinutes,
      paid: billableMinutes,
      pending: 0,
      ended: true,
      paidWei: (BigInt(billableMinutes) * PRICE).toString(),
    });
    expect(session?.played).toBeGreaterThanOrEqual(PERIODS);
    expect(earnings.today).toMatchObject({ sessions: 1, attested: billableMinutes, paid: billableMinutes });
    expect(earnings.lastSettlement).toMatchObject({ state: 'mined', minutes: billableMinutes });
    expect(earnings.lastSettlement?.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(earnings.escrow).toEqual({ earningsWei: (BigInt(billableMinutes) * PRICE).toString() });
    const qos = session?.qos;
    if (qos === undefined || 'error' in qos) throw new Error(`no verdicts: ${JSON.stringify(qos)}`);
    expect(qos.latest).toMatchObject({ minute: PERIODS - 1, billable: false });
    expect(qos.failing.map((v) => v.minute)).toEqual(expect.arrayContaining([3, 4]));

    // `farplay-edge status` on the same machine, from the edge's config.
    const config = join(dir, 'edge.json');
    const port = Number(new URL(net.edge.url ?? '').port);
    writeFileSync(
      config,
      JSON.stringify({ host: '127.0.0.1', port, nodePrivateKey: net.edgeKey, matchmakerUrl: net.mmUrl }),
    );
    const status = await runCli(['status', '--config', config]);
    const text = status.lines.join('\n');
    expect(status.code, text).toBe(1);
    expect(text).toContain(
      `today (${earnings.today.day} UTC): 1 sessions, ${earnings.today.played} minutes played, ${billableMinutes} attested, ${billableMinutes} paid; 0 pending settlement`,
    );
    expect(text).toContain(
      `escrow earnings: ${formatEther(BigInt(billableMinutes) * PRICE)} ATH not withdrawn yet`,
    );
    expect(text).toMatch(/last settlement: 0x[0-9a-f]{64} mined in block \d+ \(\d+ confirmations\)/);
    expect(text).toMatch(
      new RegExp(
        `session ${grant.sessionId.slice(0, 10)}… \\(ended, \\d+ min\\): \\d+ played, ${billableMinutes} attested, ${billableMinutes} paid, 0 pending`,
      ),
    );
    // The failing metric, from the checkers' verdicts, is a reason the node is not earning.
    expect(text).toMatch(
      new RegExp(
        `failing QoS: session ${grant.sessionId.slice(0, 10)}… minute 4 \\(checker 0x[0-9a-fA-F]{8}…\\): .*metric rtt: 400 ms \\(policy at most 150 ms\\)`,
      ),
    );
  });
});
