import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { signGrant } from '../../contracts-client/src/escrow.js';
import { EdgeBilling } from '../../edge/billing/EdgeBilling.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { billingSessionId } from '../../protocol/billingSession.js';
import { type Grant, stakingDomain } from '../../protocol/eip712.js';
import { mintSessionToken } from '../../protocol/mintSessionToken.js';
import { postQosReport } from '../../protocol/postQosReport.js';
import { grantToJson } from '../../protocol/qosReport.js';
import { generateSessionKeyPair, importSessionPrivateKey } from '../../protocol/sessionToken.js';
import type { EdgeMessage } from '../../protocol/signaling.js';
import { expectCode } from '../support/expectCode.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { nodePlayerReports } from '../tools/nodePlayerReports.js';
import { OFFCHAIN_CHAINS, startCheckers } from './checker-support.js';
import { startTestEdge } from './edge-support.js';

// The billing gate (issue 9): an edge streams a billed session only while it can be paid. Three real checkers
// (quorum 2), a real edge and a werift player: without a grant at the checkers the stream pauses with
// EDGE_GRANT_REQUIRED and resumes when the grant is opened; a player who withholds its QoS reports gets the stream
// paused with EDGE_PLAYER_REPORTS_MISSING within about two periods, and resumed when its reports arrive. The edge
// learns both from the checkers (GET /v1/sessions/:id/grant and /minutes/:m), never from the player.
const PERIOD = 2000;
const GRACE = 1000;
const { escrow, staking } = OFFCHAIN_CHAINS;
const tokenKeys = generateSessionKeyPair();
const player = privateKeyToAccount(generatePrivateKey());

let checkers: FastifyInstance[] = [];
let checkerUrls: string[] = [];
let edge: EdgeServer;
let billing: EdgeBilling;
let counter = 0;

beforeAll(async () => {
  ({ apps: checkers, urls: checkerUrls } = await startCheckers({
    count: 3,
    periodMs: PERIOD,
    graceMs: GRACE,
  }));
  // The edge's price is 1000 wei a minute: a grant paying less does not count.
  edge = await startTestEdge({ matchmakerPublicKey: tokenKeys.publicKey, pricePerMinute: '1000' });
  billing = new EdgeBilling({
    edge: edge.edge,
    domain: stakingDomain(staking.chainId, staking.address),
    periodMs: PERIOD,
    logger: pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' }),
    gate: { grantGraceMs: 1500, reportDeadlineMs: GRACE, pollMs: 100 },
  });
}, 60_000);

afterAll(async () => {
  await billing?.close();
  await edge?.close();
  await Promise.all(checkers.map((c) => c.close()));
  checkers = [];
  checkerUrls = [];
});

/** A billed session on the edge (its token names the three checkers, quorum 2) and its grant, not opened yet. */
async function billedSession(pricePerMinute = 1000n) {
  const sessionId = `gate-${Date.now()}-${counter++}`;
  const session = mintSessionToken({
    sessionId,
    gameId: 'latency-probe-30',
    edge: { edgeId: edge.edge.id, region: 'test', url: edge.url ?? '' },
    privateKey: importSessionPrivateKey(tokenKeys.privateKey),
    ttlSeconds: 300,
    checkers: { urls: checkerUrls, quorum: 2 },
  });
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  const grant: Grant = {
    sessionId: billingSessionId(sessionId),
    player: player.address,
    edge: edge.edge.id as Address,
    pricePerMinute,
    maxMinutes: 100,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
    sessionKey: sessionKey.address,
  };
  const grantSignature = await signGrant(player, escrow, grant);
  const openGrant = () =>
    Promise.all(checkerUrls.map((u) => new CheckerClient(u).openSession(grantToJson(grant), grantSignature)));
  return { session, grant, sessionKey, openGrant };
}

function pauses(p: NodePlayer): Extract<EdgeMessage, { type: 'paused' | 'resumed' }>[] {
  return p.messages.filter(
    (m): m is Extract<EdgeMessage, { type: 'paused' | 'resumed' }> =>
      m.type === 'paused' || m.type === 'resumed',
  );
}

describe('the billing gate', () => {
  it('pauses a billed session whose grant no quorum of checkers holds, and resumes it once the grant is open', async () => {
    const { session, openGrant } = await billedSession();
    const p = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
    try {
      await p.waitFor(() => p.session !== undefined, 20_000, 'the session message');
      p.sendSignal({ type: 'resize', width: 320, height: 180 });
      await p.waitFor(() => p.framesReceived > 0, 20_000, 'the first frame');
      await p.waitFor(() => pauses(p).length > 0, 20_000, 'the pause');
      expect(pauses(p)[0]).toMatchObject({ type: 'paused', code: 'EDGE_GRANT_REQUIRED' });
      expect(edge.edge.session(session.sessionId)?.paused?.code).toBe('EDGE_GRANT_REQUIRED');
      // A whole period passes paused: no new frames reach the player (those in flight aside).
      const atPause = p.framesReceived;
      const reporter = billing.reporter(session.sessionId);
      const periods = reporter?.periods ?? 0;
      await p.waitFor(() => (reporter?.periods ?? 0) > periods, 20_000, 'a period while paused');
      expect(p.framesReceived - atPause).toBeLessThanOrEqual(3);

      await openGrant();
      await p.waitFor(() => pauses(p).some((m) => m.type === 'resumed'), 20_000, 'the resume');
      const atResume = p.framesReceived;
      await p.waitFor(() => p.framesReceived > atResume + 10, 20_000, 'frames after the resume');
    } finally {
      await p.close();
    }
  });

  it('keeps the stream paused while the only open grant pays less than the edge’s price', async () => {
    const { session, openGrant } = await billedSession(999n);
    const p = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
    try {
      await p.waitFor(() => p.session !== undefined, 20_000, 'the session message');
      p.sendSignal({ type: 'resize', width: 320, height: 180 });
      await openGrant();
      await p.waitFor(() => p.framesReceived > 0, 20_000, 'the first frame');
      await p.waitFor(() => pauses(p).length > 0, 20_000, 'the pause');
      expect(pauses(p)[0]).toMatchObject({ type: 'paused', code: 'EDGE_GRANT_REQUIRED' });
      // The checkers hold the grant, but it underpays: a whole period later the stream is still paused.
      const reporter = billing.reporter(session.sessionId);
      const periods = reporter?.periods ?? 0;
      await p.waitFor(() => (reporter?.periods ?? 0) > periods, 20_000, 'a period while paused');
      expect(pauses(p).some((m) => m.type === 'resumed')).toBe(false);
    } finally {
      await p.close();
    }
  });

  it('pauses the stream of a player who withholds its reports within about two periods, and resumes it when they arrive', async () => {
    const { session, grant, sessionKey, openGrant } = await billedSession();
    await openGrant();
    // The player's reports go to the real checkers, except while it withholds them (held, then sent in order).
    let release: () => void = () => {};
    let held: Promise<void> | undefined;
    let firstDelivered = 0;
    const p = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
    const { reporter, outbox } = nodePlayerReports({
      player: p,
      sessionId: grant.sessionId,
      sessionKey,
      checkers: checkerUrls,
      staking,
      periodMs: PERIOD,
      post: async (url, report) => {
        if (held !== undefined) await held;
        return postQosReport(url, report);
      },
      onEvent: (e) => {
        if (e.kind === 'delivered' && e.minute === 0) firstDelivered++;
      },
    });
    try {
      await p.waitFor(() => p.session !== undefined, 20_000, 'the session message');
      p.sendSignal({ type: 'resize', width: 320, height: 180 });
      await p.waitFor(() => p.framesReceived > 0, 20_000, 'the first frame');
      reporter.start();
      // Period 0 is reported; from period 1 on the player withholds.
      await p.waitFor(() => firstDelivered === 3, 20_000, 'the first period at the checkers');
      held = new Promise((resolve) => {
        release = resolve;
      });
      const edgeReporter = billing.reporter(session.sessionId);
      await p.waitFor(() => pauses(p).length > 0, 20_000, 'the pause');
      expect(pauses(p)[0]).toMatchObject({ type: 'paused', code: 'EDGE_PLAYER_REPORTS_MISSING' });
      // Paused after period 1 closed and before period 3 did: the operator streamed at most two unreported periods.
      const closedAtPause = edgeReporter?.periods ?? 0;
      expect(closedAtPause).toBeGreaterThanOrEqual(2);
      expect(closedAtPause).toBeLessThanOrEqual(3);
      const atPause = p.framesReceived;
      await p.waitFor(() => (edgeReporter?.periods ?? 0) > closedAtPause, 20_000, 'a period while paused');
      expect(p.framesReceived - atPause).toBeLessThanOrEqual(3);
      expect(pauses(p).some((m) => m.type === 'resumed')).toBe(false);

      // The held reports go out: the checkers hold them (late for the minutes already decided), the edge resumes.
      held = undefined;
      release();
      await p.waitFor(() => pauses(p).some((m) => m.type === 'resumed'), 20_000, 'the resume');
      const atResume = p.framesReceived;
      await p.waitFor(() => p.framesReceived > atResume + 10, 20_000, 'frames after the resume');
      const minute1 = await new CheckerClient(checkerUrls[0] as string).minuteReports(
        grant.sessionId as Hex,
        1,
      );
      expect(minute1.player).toBe(true);
      // A session the checker never opened is no answer an edge could take for a report.
      await expectCode(
        new CheckerClient(checkerUrls[0] as string).minuteReports(billingSessionId('never-opened'), 1),
        'CHECKER_UNKNOWN_SESSION',
      );
    } finally {
      release();
      await reporter.close();
      outbox.close();
      await p.close();
    }
  });
});
