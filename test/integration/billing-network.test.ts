import { parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { paidMinutes, readAccount, readEdgeEarnings, signGrant } from '../../contracts-client/src/escrow.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import {
  type BillingNetwork,
  grantOf,
  playBilledSession,
  postGrant,
  requestSession,
  settleUntilPaid,
  startBillingNetwork,
} from './billing-network-support.js';

// The running network bills: a matchmaker assigns 3 checkers (quorum 2) to a session on a paid network, the edge
// signs and sends a QoS report per short period (withholding one), the player signs its own from what it
// received, the checkers attest, and the edge's settlement agent settles through the real escrow on anvil: the
// operator is paid exactly the attested minutes, the player charged exactly those, the withheld one unpaid.
const PERIOD = 3000;
const GRACE = 2000;
const PRICE = parseEther('0.01');
const WITHHELD = 2;
const accounts = localAccounts();
let net: BillingNetwork;

beforeAll(async () => {
  // Chains of its own: other test files move the shared chains' clocks (withdrawal and unbonding delays), which
  // would expire this test's grant between its periods and its settlement.
  net = await startBillingNetwork({
    periodMs: PERIOD,
    graceMs: GRACE,
    price: PRICE,
    withhold: (_sessionId, minute) => minute === WITHHELD,
  });
}, 120_000);

afterAll(async () => {
  await net?.close();
});

describe('billing on the running network', () => {
  it('refuses a session on a paid network without a payer, or with a payer whose deposit does not cover it', async () => {
    const sessionKey = privateKeyToAccount(generatePrivateKey()).address;
    const none = await requestSession(net, { sessionKey });
    expect(none.status).toBe(402);
    expect(((await none.json()) as { code: string }).code).toBe('MM_PAYMENT_REQUIRED');
    const poor = await requestSession(net, {
      sessionKey,
      payer: privateKeyToAccount(generatePrivateKey()).address,
    });
    expect(poor.status).toBe(402);
    expect(((await poor.json()) as { code: string }).code).toBe('MM_INSUFFICIENT_DEPOSIT');
  });

  it('the matchmaker checks the grant: another session key than the session’s, or less than the edge’s price, is refused', async () => {
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    const res = await requestSession(net, { payer: accounts.player.address, sessionKey: sessionKey.address });
    expect(res.status, await res.clone().text()).toBe(200);
    const session = (await res.json()) as CreateSessionResponse;
    const b = session.billing;
    expect(b?.checkers).toHaveLength(3);
    expect(b?.quorum).toBe(2);
    expect(b?.edge.toLowerCase()).toBe(net.edge.edge.id.toLowerCase());
    const grant = grantOf(session, sessionKey.address);
    const stranger = { ...grant, sessionKey: privateKeyToAccount(generatePrivateKey()).address };
    const refused = await postGrant(
      net,
      session,
      stranger,
      await signGrant(accounts.player, net.escrow, stranger),
    );
    expect(((await refused.json()) as { code: string }).code).toBe('MM_BAD_GRANT');
    // A grant paying less than the edge's own price is refused too.
    const cheap = { ...grant, pricePerMinute: BigInt(b?.pricePerMinute ?? '0') - 1n };
    const underpaid = await postGrant(
      net,
      session,
      cheap,
      await signGrant(accounts.player, net.escrow, cheap),
    );
    expect(underpaid.status).toBe(400);
    expect((await underpaid.json()) as { code: string; message: string }).toMatchObject({
      code: 'MM_BAD_GRANT',
      message: expect.stringContaining('below the edge'),
    });
    const accepted = await postGrant(net, session, grant);
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    expect(((await accepted.json()) as { opened: number }).opened).toBe(3);

    // The next session on the edge gets the next on-chain id of the edge's run (one SessionEscrow ledger word for
    // both), and its grant must name that id: naming the first session's (to be paid nothing, the first one's
    // minutes already paid) is refused.
    const nextKey = privateKeyToAccount(generatePrivateKey());
    const res2 = await requestSession(net, { payer: accounts.player.address, sessionKey: nextKey.address });
    expect(res2.status, await res2.clone().text()).toBe(200);
    const next = (await res2.json()) as CreateSessionResponse;
    const [id1, id2] = [BigInt(b?.sessionId ?? 0), BigInt(next.billing?.sessionId ?? 0)];
    expect(id2).not.toBe(id1);
    expect(id2 >> 3n).toBe(id1 >> 3n);
    const nextGrant = grantOf(next, nextKey.address);
    const stolen = { ...nextGrant, sessionId: grant.sessionId };
    const collided = await postGrant(net, next, stolen);
    expect((await collided.json()) as { code: string; message: string }).toMatchObject({
      code: 'MM_BAD_GRANT',
      message: expect.stringContaining('sessionId'),
    });
    expect((await postGrant(net, next, nextGrant)).status).toBe(200);
  });

  it('pays the operator exactly the attested periods and leaves the one the edge withheld unpaid', async () => {
    const before = (await readAccount(net.payAdmin.publicClient, net.escrow, accounts.player.address))
      .balance;
    const { grant } = await playBilledSession(net, { periods: 5 });
    const clients = net.checkerUrls.map((u) => new CheckerClient(u));
    const { billing, payAdmin, escrow } = net;
    const { evidence } = await settleUntilPaid(net, grant, clients[0] as CheckerClient);
    const withheld = evidence.verdicts.find((v) => v.minute === WITHHELD);
    expect(withheld?.billable).toBe(false);
    expect(withheld?.reasons).toContain('no-edge-report');
    const billable = evidence.verdicts.filter((v) => v.minute <= 4 && v.billable).length;
    expect(billable, JSON.stringify(evidence.verdicts)).toBeGreaterThan(0);

    const paid = await paidMinutes(payAdmin.publicClient, escrow, grant.edge, grant.sessionId);
    const agentStatus = JSON.stringify(billing.agent.status(), (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    expect(paid, agentStatus).toBe(evidence.billableMinutes);
    expect(await readEdgeEarnings(payAdmin.publicClient, escrow, grant.edge, [grant.sessionId])).toBe(
      BigInt(paid) * PRICE,
    );
    const after = (await readAccount(payAdmin.publicClient, escrow, accounts.player.address)).balance;
    expect(before - after).toBe(BigInt(paid) * PRICE);
    expect(billing.agent.status().find((s) => s.sessionId === grant.sessionId)?.pending ?? 0).toBe(0);
  });
});
