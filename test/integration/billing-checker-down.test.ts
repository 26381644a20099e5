import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { paidMinutes, readEdgeEarnings } from '../../contracts-client/src/escrow.js';
import {
  type BilledEvidence,
  type BillingNetwork,
  playBilledSession,
  settleUntilPaid,
  startBillingNetwork,
} from './billing-network-support.js';

// k of n decide: a session's three checkers (quorum 2) lose one mid-session — its server stops answering while
// both ends keep reporting to it — and the edge's settlement agent still settles every minute the two others
// attested, through the real escrow on anvil.
const PERIOD = 3000;
const GRACE = 2000;
const PRICE = parseEther('0.01');
const PERIODS = 5;
const DOWN = { index: 2, afterPeriods: 2 };
let net: BillingNetwork;

beforeAll(async () => {
  // Chains of its own (other test files move the shared chains' clocks, expiring grants).
  net = await startBillingNetwork({ periodMs: PERIOD, graceMs: GRACE, price: PRICE });
}, 120_000);

afterAll(async () => {
  await net?.close();
});

describe('a checker down mid-session', () => {
  it('does not stop settlement while a quorum remains: every minute the others attested is paid', async () => {
    const { grant } = await playBilledSession(net, { periods: PERIODS, checkerDown: DOWN });
    const alive = net.checkerUrls.filter((_u, i) => i !== DOWN.index).map((u) => new CheckerClient(u));
    const dead = new CheckerClient(net.checkerUrls[DOWN.index] as string, 2_000);
    await expect(dead.evidence(grant.sessionId)).rejects.toThrow();

    const { billing, payAdmin, escrow } = net;
    const { evidence } = await settleUntilPaid(net, grant, alive[0] as CheckerClient);
    const other = (await alive[1]?.evidence(grant.sessionId)) as BilledEvidence;
    // Minutes after the checker went down were decided and billed by the two that remain.
    const late = evidence.verdicts.filter((v) => v.minute >= DOWN.afterPeriods + 1 && v.billable);
    expect(late.length, JSON.stringify(evidence.verdicts)).toBeGreaterThan(0);
    expect(other.billableMinutes).toBe(evidence.billableMinutes);

    const paid = await paidMinutes(payAdmin.publicClient, escrow, grant.edge, grant.sessionId);
    const agentStatus = JSON.stringify(billing.agent.status(), (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    expect(paid, agentStatus).toBe(evidence.billableMinutes);
    expect(await readEdgeEarnings(payAdmin.publicClient, escrow, grant.edge, [grant.sessionId])).toBe(
      BigInt(paid) * PRICE,
    );
  }, 180_000);
});
