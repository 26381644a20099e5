import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildChecker } from '../../checker/buildApp.js';
import type { RttProbe, SessionProbe } from '../../checker/EdgeProber.js';
import { parseEdgeConfig } from '../../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { buildApp as buildMatchmaker, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { SessionKey } from '../../player/src/SessionKey.js';
import { signProbeRequest } from '../../protocol/edgeProbe.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { goodMinute, newSession, OFFCHAIN_CHAINS, type TestSession } from './checker-support.js';
import { eventually } from './edge-support.js';
import { sleep } from './matchmaker-support.js';

// A checker's active probes of a real edge (createEdge: x264, werift) found through a real matchmaker: RTT to the
// edge's /v1/probe, a synthetic session with the matchmaker's probe token received by a werift peer, refusals kept
// as failed evidence, the probe RTT in the minute's verdict, and all of it served in the session's evidence.
const PERIOD = 4000;
const GRACE = 500;

describe('checker probes of a real edge', () => {
  let mm: MatchmakerApp;
  let mmUrl: string;
  let checker: FastifyInstance;
  let edge: EdgeServer;
  let control: EdgeControl;
  let edgeId: Address;
  let clock = Date.now();
  const edgeKey = generatePrivateKey();
  const player = privateKeyToAccount(generatePrivateKey());

  beforeAll(async () => {
    checker = await buildChecker({
      config: {
        periodMs: PERIOD,
        reportGraceMs: GRACE,
        sweepMs: 60_000,
        paymentsChainId: OFFCHAIN_CHAINS.escrow.chainId,
        escrowAddress: OFFCHAIN_CHAINS.escrow.address,
        stakingChainId: OFFCHAIN_CHAINS.staking.chainId,
        stakingAddress: OFFCHAIN_CHAINS.staking.address,
        probeRttMs: 0, // no timers: the test runs each probe
        probeSessionMs: 0,
        probeWindowMs: 1500,
        logLevel: 'silent',
      },
      now: () => clock,
    });
    const checkerUrl = await checker.listen({ host: '127.0.0.1', port: 0 });
    mm = await buildMatchmaker({
      config: { logLevel: 'silent', checkerUrls: checkerUrl, probeIntervalMs: 0, refreshMs: 100 },
    });
    mmUrl = await mm.listen({ host: '127.0.0.1', port: 0 });
    checker.prober.useMatchmaker(mmUrl);
    edge = await createEdge({
      config: parseEdgeConfig({
        port: 0,
        nodePrivateKey: edgeKey,
        matchmakerPublicKey: mm.sessionPublicKey,
        iceAllowedAddresses: ['127.0.0.1'],
        allowPrivateCandidates: true,
        logLevel: 'silent',
        capacity: 1,
        connectTimeoutSeconds: 15,
      }),
      logger: pino({ level: 'silent' }),
      encoderProbe: await probeEncoders(),
    });
    await edge.listen({ host: '127.0.0.1', port: 0 });
    control = startEdgeControl({
      edge: edge.edge,
      account: privateKeyToAccount(edgeKey),
      matchmakerUrl: mmUrl,
      heartbeatMs: 300,
      peerProbeMs: 0,
    });
    await control.registered;
    await mm.matchmaker.refresh();
    edgeId = privateKeyToAccount(edgeKey).address;
  }, 120_000);

  afterAll(async () => {
    await control?.close();
    await edge?.close();
    await mm?.close();
    await checker?.close();
  });

  async function openSession(): Promise<TestSession> {
    const s = await newSession(OFFCHAIN_CHAINS, player, privateKeyToAccount(edgeKey));
    const res = await checker.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { grant: s.grantJson, grantSignature: s.grantSignature },
    });
    expect(res.statusCode, res.body).toBe(200);
    return s;
  }

  const evidence = async (s: TestSession) => {
    const res = await checker.inject(`/v1/sessions/${s.grant.sessionId}/evidence`);
    expect(res.statusCode).toBe(200);
    return res.json() as {
      probes: (RttProbe | SessionProbe)[];
      verdicts: { figures: Record<string, number> }[];
    };
  };

  it('measures the RTT to the edge, keeps it with the session and compares it in the minute’s verdict', async () => {
    clock = Date.now();
    const s = await openSession();
    const rtt = await checker.prober.probeRtt(edgeId);
    expect(rtt.ok, JSON.stringify(rtt.error)).toBe(true);
    expect(rtt.samplesMs).toHaveLength(3);
    expect(rtt.rttMs).toBe(Math.min(...(rtt.samplesMs ?? [])));
    expect(rtt.url).toBe(edge.edge.url);

    // Minute 0 closes; both ends report an RTT of 32 ms: the probe's figure (loopback) is in the verdict.
    clock += PERIOD;
    const good = goodMinute(PERIOD);
    for (const [chain, metrics, detail] of [
      [s.edgeChain, good.edge, { targetFps: 60, framesEncoded: good.edge.frames }],
      [s.playerChain, good.player, {}],
    ] as const) {
      const res = await checker.inject({
        method: 'POST',
        url: `/v1/sessions/${s.grant.sessionId}/reports`,
        payload: (await chain.next(0, metrics, detail, clock)) as object,
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const e = await evidence(s);
    expect(e.probes).toEqual([JSON.parse(JSON.stringify(rtt))]);
    expect(e.verdicts[0]?.figures.probeRttMs).toBe(rtt.rttMs);
  });

  it('runs a synthetic session through the edge’s normal path and records codec, picture, frames and encoder', async () => {
    clock = Date.now();
    const s = await openSession();
    const probe = await checker.prober.probeSession(edgeId);
    expect(probe.ok, JSON.stringify(probe)).toBe(true);
    expect(probe.codec?.mimeType.toLowerCase()).toBe('video/h264');
    expect(probe.codec?.fmtp).toContain('packetization-mode=1');
    expect(probe.claimed).toMatchObject({ encoder: edge.edge.encoderProbe.selected });
    expect(probe.seen?.sps).toMatchObject({ width: probe.claimed?.width, height: probe.claimed?.height });
    expect(probe.seen?.frames).toBeGreaterThan(0);
    expect(probe.checks).toMatchObject({ codec: true, resolution: true, frames: true, fps: true });
    // libx264 signs its stream: the encoder the edge claims is proven.
    if (probe.claimed?.encoder === 'libx264') {
      expect(probe.seen?.encoderSignature).toMatch(/^x264 - core \d+/);
      expect(probe.checks?.encoder).toBe(true);
    }
    // Never billed, never a player's: the matchmaker holds no session for it, the edge ended it.
    await eventually(() => edge.edge.probeSessionIds().length === 0, 10_000, 'the probe session to end');
    expect(mm.matchmaker.edges()[0]?.usedSlots ?? 0).toBe(0);
    const e = await evidence(s);
    expect(e.probes.map((p) => p.kind)).toEqual(['session']);
    expect((e.probes[0] as SessionProbe).seen?.frames).toBe(probe.seen?.frames);
  }, 60_000);

  it('gives probe tokens only for requests signed by that checker, fresh, for this deployment', async () => {
    const info = (await (await fetch(`${mmUrl}/v1/matchmaker`)).json()) as { deployment: string };
    const { deployment } = info;
    const stranger = privateKeyToAccount(generatePrivateKey());
    const forged = await signProbeRequest(stranger, edgeId, deployment);
    forged.payload.checker = checker.checker.address; // claims to be the registered checker
    const post = (body: unknown) => mm.inject({ method: 'POST', url: '/v1/probes', payload: body as object });
    expect((await post(forged)).json().code).toBe('MM_BAD_SIGNATURE');
    const stale = await signProbeRequest(stranger, edgeId, deployment, Date.now() - 10 * 60_000);
    expect((await post(stale)).json().code).toBe('MM_STALE_MESSAGE');
    const elsewhere = await signProbeRequest(stranger, edgeId, 'mm-another');
    expect((await post(elsewhere)).json().code).toBe('MM_WRONG_DEPLOYMENT');
  });

  async function connectPlayer(): Promise<NodePlayer> {
    const games = (await (await fetch(`${mmUrl}/v1/games`)).json()) as { games: { id: string }[] };
    const res = await fetch(`${mmUrl}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        gameId: games.games[0]?.id,
        measurements: [],
        sessionKey: SessionKey.create().address,
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const session = (await res.json()) as CreateSessionResponse;
    const nodePlayer = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
    await nodePlayer.waitFor(() => nodePlayer.framesReceived > 0, 30_000, 'the player’s frames');
    return nodePlayer;
  }

  it('keeps a refused probe as failed evidence: an unregistered key gets no token, a full edge admits none', async () => {
    clock = Date.now();
    const s = await openSession();
    // A key that is not one of the matchmaker's checkers.
    const stranger = await buildChecker({
      config: { probeRttMs: 0, probeSessionMs: 0, matchmakerUrl: mmUrl, logLevel: 'silent' },
      now: () => clock,
    });
    stranger.prober.track(s.grant.sessionId, edgeId);
    const refused = await stranger.prober.probeSession(edgeId);
    await stranger.close();
    expect(refused).toMatchObject({ ok: false, stage: 'token', error: { code: 'MM_NOT_A_CHECKER' } });

    // The probe session holds the edge's only slot when a player comes: the player gets it, the probe ends.
    const running = checker.prober.probeSession(edgeId);
    const streaming = () => edge.edge.probeSessionIds().map((id) => edge.edge.session(id)?.state);
    await eventually(() => streaming()[0] === 'streaming', 20_000, 'the probe session to stream');
    await sleep(300); // its first frames reach the receiver
    const nodePlayer = await connectPlayer();
    try {
      const preempted = await running;
      expect(preempted).toMatchObject({
        ok: false,
        stage: 'stream',
        endedBy: expect.stringContaining('player'),
      });
      // Now a player holds the only slot: the edge admits no probe.
      const full = await checker.prober.probeSession(edgeId);
      expect(full).toMatchObject({ ok: false, stage: 'admission', error: { code: 'EDGE_FULL' } });
      expect(nodePlayer.framesReceived).toBeGreaterThan(0);
      const e = await evidence(s);
      expect(e.probes).toContainEqual(
        expect.objectContaining({ kind: 'session', ok: false, stage: 'admission' }),
      );
    } finally {
      await nodePlayer.close();
    }
  }, 60_000);
});
