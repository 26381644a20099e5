import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { signGrant } from '../../contracts-client/src/escrow.js';
import { localPrivateKey } from '../../contracts-client/src/localChain.js';
import { EdgeBilling } from '../../edge/billing/EdgeBilling.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { buildApp as buildMatchmaker, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { type Grant, stakingDomain } from '../../protocol/eip712.js';
import type { CreateSessionResponse, SessionEvent } from '../../protocol/playerApi.js';
import { grantToJson } from '../../protocol/qosReport.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { nodePlayerReports } from '../tools/nodePlayerReports.js';
import { OFFCHAIN_CHAINS, startCheckers } from './checker-support.js';
import { startTestEdge } from './edge-support.js';

// A billed session moved to another edge is billed there under a grant of its own: a matchmaker with three checkers
// (quorum 2) and two real edges that bill (gate on); the session's edge shuts down, the matchmaker moves the player
// (`moved` with a new session on the other edge); the player signs a grant naming the new edge, the matchmaker
// checks it (the old edge's name is refused) and opens the new session at its checkers, and both ends' reports of
// the new session reach them, with no pause. No chain is needed: the checkers verify grants and reports offline.
const PERIOD = 2000;
const GRACE = 1000;
const { escrow, staking } = OFFCHAIN_CHAINS;
const player = privateKeyToAccount(generatePrivateKey());
const logger = pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' });

interface BilledEdge {
  server: EdgeServer;
  control: EdgeControl;
  billing: EdgeBilling;
}

let checkers: FastifyInstance[] = [];
let checkerUrls: string[] = [];
let mm: MatchmakerApp;
let mmUrl: string;
const edges: BilledEdge[] = [];

beforeAll(async () => {
  ({ apps: checkers, urls: checkerUrls } = await startCheckers({
    count: 3,
    periodMs: PERIOD,
    graceMs: GRACE,
  }));
  mm = await buildMatchmaker({
    config: {
      logLevel: 'silent',
      checkerUrls: checkerUrls.join(','),
      checkersPerSession: 3,
      checkerQuorum: 2,
      qosPeriodMs: PERIOD,
      paymentsChainId: escrow.chainId,
      escrowAddress: escrow.address,
      stakingChainId: staking.chainId,
      stakingAddress: staking.address,
      grantMaxMinutes: 50,
    },
  });
  mmUrl = await mm.listen({ host: '127.0.0.1', port: 0 });
  for (const [i, region] of [
    [3, 'eu-west'],
    [4, 'us-east'],
  ] as const) {
    const key = localPrivateKey(i);
    const server = await startTestEdge({
      nodePrivateKey: key,
      matchmakerPublicKey: mm.sessionPublicKey,
      region,
      pricePerMinute: '1000',
    });
    const control = startEdgeControl({
      edge: server.edge,
      account: privateKeyToAccount(key),
      matchmakerUrl: mmUrl,
      heartbeatMs: 500,
      logger,
    });
    await control.registered;
    const billing = new EdgeBilling({
      edge: server.edge,
      domain: stakingDomain(staking.chainId, staking.address),
      periodMs: PERIOD,
      logger,
      gate: { grantGraceMs: 1500, reportDeadlineMs: GRACE, pollMs: 100 },
    });
    edges.push({ server, control, billing });
  }
  await mm.matchmaker.refresh();
}, 60_000);

afterAll(async () => {
  for (const e of edges.splice(0)) {
    await e.billing.close();
    await e.control.close();
    await e.server.close();
  }
  await mm?.close();
  await Promise.all(checkers.map((c) => c.close()));
  checkers = [];
  checkerUrls = [];
});

function grantOf(session: CreateSessionResponse, sessionKey: Address): Grant {
  const b = session.billing;
  if (b === undefined) throw new Error('no billing in the session answer');
  return {
    sessionId: b.sessionId as Hex,
    player: player.address,
    edge: b.edge as Address,
    pricePerMinute: BigInt(b.pricePerMinute),
    maxMinutes: b.maxMinutes,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
    sessionKey,
  };
}

async function postGrant(session: CreateSessionResponse, grant: Grant): Promise<Response> {
  return fetch(`${mmUrl}/v1/sessions/${session.sessionId}/grant`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant: grantToJson(grant),
      grantSignature: await signGrant(player, escrow, grant),
    }),
  });
}

/** Streams `session` to a Node player reporting each period; resolves once a period of it is decided with both ends in. */
async function play(session: CreateSessionResponse, sessionKey: ReturnType<typeof privateKeyToAccount>) {
  const b = session.billing;
  if (b === undefined) throw new Error('no billing in the session answer');
  const p = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
  const { reporter, outbox } = nodePlayerReports({
    player: p,
    sessionId: b.sessionId as Hex,
    sessionKey,
    checkers: b.checkers,
    staking: b.staking,
    periodMs: b.periodMs,
  });
  await p.waitFor(() => p.session !== undefined, 20_000, 'the session message');
  p.sendSignal({ type: 'resize', width: 320, height: 180 });
  await p.waitFor(() => p.framesReceived > 0, 20_000, 'the first frame');
  reporter.start();
  return { p, reporter, outbox };
}

/** Resolves with the first verdict a checker gives a period of `sessionId` for which both ends reported. */
function bothReported(app: FastifyInstance, sessionId: string) {
  return new Promise<{ minute: number; reasons: string[] }>((resolve) => {
    const off = app.checker.on('verdict', (id, verdict) => {
      if (id !== sessionId.toLowerCase()) return;
      if (verdict.reasons.includes('no-edge-report') || verdict.reasons.includes('no-player-report')) return;
      off();
      resolve(verdict);
    });
  });
}

describe('a billed session moved to another edge', () => {
  it('gets a grant naming the new edge, checked by the matchmaker, and is billed there', async () => {
    const sessionKey = privateKeyToAccount(generatePrivateKey());
    const res = await fetch(`${mmUrl}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        gameId: 'latency-probe-30',
        measurements: [],
        sessionKey: sessionKey.address,
        payer: player.address,
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const first = (await res.json()) as CreateSessionResponse;
    const accepted = await postGrant(first, grantOf(first, sessionKey.address));
    expect(accepted.status, await accepted.clone().text()).toBe(200);
    const from = edges.find((e) => e.server.edge.id.toLowerCase() === first.edge.edgeId.toLowerCase());
    const to = edges.find((e) => e !== from);
    if (from === undefined || to === undefined) throw new Error('the session is on no test edge');

    const billedBefore = bothReported(checkers[0] as FastifyInstance, first.billing?.sessionId ?? '');
    const one = await play(first, sessionKey);
    await billedBefore;

    // The session's edge shuts down: the matchmaker moves the player to the other edge at once.
    const events: SessionEvent[] = [];
    const off = mm.matchmaker.onSessionEvent(first.sessionId, (e) => events.push(e));
    await from.control.close();
    await one.p.waitFor(() => events.length > 0, 20_000, 'the moved event');
    off();
    await one.reporter.close();
    one.outbox.close();
    await one.p.close();
    const event = events[0];
    if (event?.type !== 'moved') throw new Error(`not moved: ${JSON.stringify(event)}`);
    const moved = event.session;
    expect(moved.edge.edgeId.toLowerCase()).toBe(to.server.edge.id.toLowerCase());
    const b = moved.billing;
    if (b === undefined) throw new Error('the moved session has no billing');
    expect(b.sessionId).not.toBe(first.billing?.sessionId);
    expect(b.edge.toLowerCase()).toBe(to.server.edge.id.toLowerCase());

    // The matchmaker checks the new grant: one naming the old edge is refused; one naming the new edge opens.
    const stale = { ...grantOf(moved, sessionKey.address), edge: from.server.edge.id as Address };
    const refused = await postGrant(moved, stale);
    expect(((await refused.json()) as { code: string }).code).toBe('MM_BAD_GRANT');
    const grant = grantOf(moved, sessionKey.address);
    const opened = await postGrant(moved, grant);
    expect(opened.status, await opened.clone().text()).toBe(200);
    expect(((await opened.json()) as { opened: number }).opened).toBe(3);
    const atChecker = await new CheckerClient(checkerUrls[0] as string).grant(b.sessionId as Hex);
    expect(atChecker.grant.edge.toLowerCase()).toBe(to.server.edge.id.toLowerCase());

    // Billing goes on at the new edge: both ends report the moved session's periods, and it is not paused.
    const billedAfter = bothReported(checkers[0] as FastifyInstance, b.sessionId);
    const two = await play(moved, sessionKey);
    try {
      const verdict = await billedAfter;
      expect(verdict.reasons).not.toContain('no-edge-report');
      expect(two.p.messages.some((m) => m.type === 'paused')).toBe(false);
    } finally {
      await two.reporter.close();
      two.outbox.close();
      await two.p.close();
    }
  });
});
