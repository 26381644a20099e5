import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { QosRole, stakingDomain } from '../../protocol/eip712.js';
import { QosBatchPost } from '../../protocol/QosBatchPost.js';
import { QosOutbox, type QosOutboxEvent } from '../../protocol/QosOutbox.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import {
  goodMinute,
  newSession,
  OFFCHAIN_CHAINS,
  startCheckers,
  type TestSession,
} from './checker-support.js';

// An edge's per-session outboxes sharing one QosBatchPost (what EdgeBilling does by default), against real
// checkers: the reports of its sessions go to each checker in batch requests, every outbox still gets its own
// report's answer, and a refused report is dropped with its own code while the others are taken.
const PERIOD = 300;
const good = goodMinute(PERIOD);
const player = privateKeyToAccount(generatePrivateKey());
const edge = privateKeyToAccount(generatePrivateKey());
let apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

describe('QosBatchPost', () => {
  it('sends an edge’s reports of several sessions to each checker in batches, each outbox getting its own answer', async () => {
    const started = await startCheckers({ count: 2, periodMs: PERIOD, graceMs: 5000 });
    apps = started.apps;
    const clients = started.urls.map((u) => new CheckerClient(u));
    const sessions: TestSession[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await newSession(OFFCHAIN_CHAINS, player, edge);
      for (const c of clients) await c.openSession(s.grantJson, s.grantSignature);
      sessions.push(s);
    }
    let singles = 0;
    const batching = new QosBatchPost({
      windowMs: 100,
      single: async () => {
        singles += 1;
        throw new Error('the checkers take batches: no single post expected');
      },
    });
    const events: QosOutboxEvent[] = [];
    const outboxes = sessions.map(
      () =>
        new QosOutbox({
          checkers: started.urls,
          post: batching.post,
          backoffMs: 50,
          onEvent: (e) => events.push(e),
        }),
    );
    // A session whose "edge" report is signed by another key: refused at both checkers, for good.
    const mallory = new QosReportChain({
      sessionId: sessions[2]?.grant.sessionId as `0x${string}`,
      role: QosRole.edge,
      signer: privateKeyToAccount(generatePrivateKey()),
      domain: stakingDomain(OFFCHAIN_CHAINS.staking.chainId, OFFCHAIN_CHAINS.staking.address),
    });
    await new Promise((r) => setTimeout(r, 2 * PERIOD));
    const extra = { targetFps: 60, framesEncoded: good.edge.frames };
    const chains = [...sessions.slice(0, 2).map((s) => s.edgeChain), mallory];
    for (let m = 0; m < 2; m++) {
      for (const [i, chain] of chains.entries())
        outboxes[i]?.push(await chain.next(m, good.edge, extra, Date.now()));
    }
    await Promise.all(outboxes.map((o) => o.drained()));
    expect(singles).toBe(0);
    const delivered = events.filter((e) => e.kind === 'delivered');
    expect(delivered).toHaveLength(8); // 2 sessions × 2 minutes × 2 checkers
    for (const e of delivered) expect(e.answer).toMatchObject({ role: 0, verdict: null });
    const dropped = events.filter((e) => e.kind === 'dropped');
    // Mallory's first minute is refused for its signature; the second then breaks no chain the checker holds,
    // it is refused for its signature too.
    expect(dropped.map((e) => (e.kind === 'dropped' ? e.code : ''))).toEqual(
      Array(4).fill('CHECKER_BAD_SIGNATURE'),
    );
    for (const c of clients) {
      for (const s of sessions.slice(0, 2)) {
        const minutes = await c.minuteReports(s.grant.sessionId, 1);
        expect(minutes).toMatchObject({ edge: true, player: false });
      }
    }
  });
});
