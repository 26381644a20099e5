import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { parseEdgeConfig } from '../../edge/config.js';
import { resolveIceServers } from '../../edge/control/matchmakerStun.js';
import { measurePeerRtt } from '../../edge/control/PeerRtts.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { SessionKey } from '../../player/src/SessionKey.js';
import type { Candidate, CreateSessionResponse, SessionEvent } from '../../protocol/playerApi.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { eventsUrl } from './matchmaker-support.js';

// The whole control path with the real edge (E1's createEdge: encoders, WebRTC) and edge/control:
// edges register and heartbeat by themselves, a player follows candidates → probes → session, the
// edge accepts the matchmaker's token, the session turns active, ends, and moves when its edge dies.
describe('matchmaker with real edges', () => {
  let app: MatchmakerApp;
  let mmUrl: string;
  const edges: { server: EdgeServer; control: EdgeControl }[] = [];

  beforeAll(async () => {
    app = await buildApp({ config: { logLevel: 'silent', edgeTtlMs: 2000, refreshMs: 100, reapMs: 100 } });
    mmUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const encoderProbe = await probeEncoders();
    // As runEdge does with no ICE servers configured: the matchmaker's STUN responder.
    const iceServers = await resolveIceServers({
      iceServers: [],
      matchmakerUrl: mmUrl,
      matchmakerStun: true,
    });
    expect(iceServers).toHaveLength(1);
    for (const [region, lat, lon] of [
      ['eu-west', 48.85, 2.35],
      ['eu-north', 59.33, 18.06],
    ] as const) {
      const key = generatePrivateKey();
      const server = await createEdge({
        config: parseEdgeConfig({
          port: 0,
          nodePrivateKey: key,
          matchmakerPublicKey: app.sessionPublicKey,
          iceAllowedAddresses: ['127.0.0.1'],
          iceServers,
          allowPrivateCandidates: true, // players on loopback
          logLevel: 'silent',
          capacity: 2,
          region,
          lat,
          lon,
          gpu: 'none (test)',
          pricePerMinute: '1000000000000000',
        }),
        logger: pino({ level: 'silent' }),
        encoderProbe,
      });
      await server.listen({ host: '127.0.0.1', port: 0 });
      const control = startEdgeControl({
        edge: server.edge,
        account: privateKeyToAccount(key),
        matchmakerUrl: mmUrl,
        heartbeatMs: 300,
        peerProbeMs: 0,
      });
      await control.registered;
      edges.push({ server, control });
    }
    await app.matchmaker.refresh();
  }, 120_000);

  afterAll(async () => {
    for (const { server, control } of edges) {
      await control.close();
      await server.close();
    }
    await app?.close();
  });

  async function play(): Promise<{ session: CreateSessionResponse; player: NodePlayer; key: SessionKey }> {
    const games = (await (await fetch(`${mmUrl}/v1/games`)).json()) as { games: { id: string }[] };
    const gameId = games.games.some((g) => g.id === 'breakout') ? 'breakout' : (games.games[0]?.id as string);
    const res = await fetch(`${mmUrl}/v1/candidates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ gameId }),
    });
    const { candidates } = (await res.json()) as { candidates: Candidate[] };
    expect(candidates).toHaveLength(2);
    const measurements = [];
    for (const c of candidates) {
      const t = performance.now();
      const probe = await fetch(c.probeUrl);
      expect(probe.status).toBe(204);
      measurements.push({ edgeId: c.edgeId, rttMs: performance.now() - t });
    }
    const key = SessionKey.create();
    const s = await fetch(`${mmUrl}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ gameId, measurements, sessionKey: key.address }),
    });
    expect(s.status).toBe(200);
    const session = (await s.json()) as CreateSessionResponse;
    const player = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
    await player.waitFor(() => player.framesReceived > 3, 30_000, 'frames from the edge');
    return { session, player, key };
  }

  const state = async (sessionId: string) => {
    const res = await app.inject({ url: `/v1/sessions/${sessionId}` });
    return res.statusCode === 200 ? (res.json().state as string) : res.json().code;
  };

  it('streams on the allocated edge, which reports the session active and then ended', async () => {
    expect(app.matchmaker.edges()).toHaveLength(2);
    const { session, player } = await play();
    await expect.poll(() => state(session.sessionId), { timeout: 10_000 }).toBe('active');
    await player.close();
    await expect.poll(() => state(session.sessionId), { timeout: 10_000 }).toBe('MM_UNKNOWN_SESSION');
  });

  it('edges time each other and report the RTTs in their signed heartbeats', async () => {
    const peer = edges[1]?.server.url as string;
    const rtt = await measurePeerRtt(peer);
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(1000);
    expect(await measurePeerRtt('http://127.0.0.1:9', 1, 500)).toBeUndefined();
    // Each edge measures the one the matchmaker names and sends it; loopback (< 1 ms) between Paris and
    // Stockholm is faster than light, so the matchmaker counts it and drops it.
    await vi.waitFor(
      async () => {
        const text = (await app.inject({ url: '/metrics' })).body;
        const dropped = /farplay_mm_edge_peer_rtts_total\{result="implausible"\} (\d+)/.exec(text)?.[1];
        expect(Number(dropped ?? 0)).toBeGreaterThanOrEqual(2);
      },
      { timeout: 20_000, interval: 200 },
    );
  });

  it('moves the player to the other edge when its edge dies', async () => {
    const { session, player, key } = await play();
    await expect.poll(() => state(session.sessionId), { timeout: 10_000 }).toBe('active');
    const ws = new WebSocket(await eventsUrl(mmUrl, session, key));
    const event = new Promise<SessionEvent>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as SessionEvent));
      ws.once('error', reject);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    // A crash: heartbeats stop and nobody reports the session's end.
    const dying = edges.find(
      (e) => e.server.edge.id.toLowerCase() === session.edge.edgeId,
    ) as (typeof edges)[number];
    await dying.control.close();
    const moved = await event;
    ws.close();
    await player.close();
    expect(moved.type).toBe('moved');
    if (moved.type !== 'moved') return;
    expect(moved.session.edge.edgeId).not.toBe(session.edge.edgeId);
    const next = new NodePlayer({ signalUrl: moved.session.edge.signalUrl, token: moved.session.token });
    await next.waitFor(() => next.framesReceived > 3, 30_000, 'frames from the new edge');
    await expect.poll(() => state(moved.session.sessionId), { timeout: 10_000 }).toBe('active');
    await next.close();
  });
});
