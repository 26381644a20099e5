import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  importSessionPublicKey,
  signSessionToken,
  verifySessionToken,
} from '../../protocol/sessionToken.js';
import { SignalCloseCodes } from '../../protocol/signaling.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { startTestEdge } from './edge-support.js';

let server: EdgeServer;
let edge: Edge;

beforeAll(async () => {
  server = await startTestEdge({ nodePrivateKey: `0x${'11'.repeat(32)}`, region: 'eu-test' });
  edge = server.edge;
});

afterAll(async () => {
  await server?.close();
});

describe('standalone edge HTTP API', () => {
  it('serves /v1/stats (session ids, timing reset) only to the operator on the edge machine', async () => {
    const local = await server.app.inject({ method: 'GET', url: '/v1/stats', remoteAddress: '127.0.0.1' });
    expect(local.statusCode).toBe(200);
    expect(local.json()).toHaveProperty('edgeMs');
    const remote = await server.app.inject({
      method: 'GET',
      url: '/v1/stats?reset=1',
      remoteAddress: '203.0.113.7',
    });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ code: 'EDGE_OPERATOR_ONLY' });
  });

  it('identifies itself by its node key address and reports its encoder on /health and /v1/edge', async () => {
    expect(edge.id).toBe('0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A');
    const health = await server.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    const probe = edge.encoderProbe;
    expect(probe.selected).toBeDefined();
    expect(health.json()).toMatchObject({ ok: true, encoder: probe.selected, edgeId: edge.id });
    // Every configured encoder is reported with the verdict the probe reached by really opening it.
    expect(health.json().encoders.map((e: { name: string; ok: boolean }) => [e.name, e.ok])).toEqual(
      probe.probes.map((p) => [p.name, probe.working.includes(p.name)]),
    );
    const info = (await server.app.inject({ method: 'GET', url: '/v1/edge' })).json();
    expect(info).toMatchObject({
      id: edge.id,
      region: 'eu-test',
      standalone: true,
      encoders: edge.encoderProbe.working,
      encoder: edge.encoderProbe.selected,
      capacity: 3,
      activeSessions: 0,
      freeSlots: 3,
    });
    // No session runs: the matchmaker is told the whole machine is free.
    expect(info.encodeHeadroom).toBe(1);
    expect(info.games.map((game: { id: string }) => game.id)).toEqual([
      'breakout',
      'latency-probe',
      'latency-probe-30',
      'stress',
    ]);
  });

  it('serves games, candidates (with a CORS-open 204 probe) and sessions the edge accepts', async () => {
    const games = await server.app.inject({
      method: 'GET',
      url: '/v1/games',
      headers: { origin: 'http://elsewhere' },
    });
    expect(games.headers['access-control-allow-origin']).toBe('*');
    expect(games.json().games[0]).toMatchObject({ id: 'breakout', width: 1280, height: 720, fps: 60 });
    const preflight = await server.app.inject({
      method: 'OPTIONS',
      url: '/v1/sessions',
      headers: { origin: 'http://x' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    const candidates = await server.app.inject({
      method: 'POST',
      url: '/v1/candidates',
      headers: { host: 'edge.example:8700' },
      payload: { gameId: 'breakout' },
    });
    expect(candidates.json().candidates).toEqual([
      expect.objectContaining({
        edgeId: edge.id,
        region: 'eu-test',
        probeUrl: 'http://edge.example:8700/v1/probe',
      }),
    ]);
    const probe = await server.app.inject({ method: 'GET', url: '/v1/probe' });
    expect(probe.statusCode).toBe(204);
    expect(probe.headers['access-control-allow-origin']).toBe('*');
    // The page times its one probe GET by Resource Timing, which a cross-origin page sees only with this.
    expect(probe.headers['timing-allow-origin']).toBe('*');
    // Each probe GET has its own URL (its own timing entry): the query is ignored.
    expect((await server.app.inject({ method: 'GET', url: '/v1/probe?n=3' })).statusCode).toBe(204);
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { gameId: 'latency-probe', measurements: [{ edgeId: edge.id, rttMs: 1 }] },
    });
    expect(created.statusCode).toBe(201);
    const session = created.json();
    const claims = verifySessionToken({
      token: session.token,
      publicKey: importSessionPublicKey(edge.sessionPublicKey),
      edgeId: edge.id,
    });
    expect(claims).toMatchObject({ sid: session.sessionId, gameId: 'latency-probe', edgeId: edge.id });
    expect(session.edge.signalUrl).toMatch(/^ws:\/\/.+\/v1\/signal$/);
  });

  it('answers bad requests with stable codes', async () => {
    const unknown = await server.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { gameId: 'nope', measurements: [] },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('EDGE_UNKNOWN_GAME');
    const bad = await server.app.inject({ method: 'POST', url: '/v1/sessions', payload: { gameId: 5 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('BAD_REQUEST');
    const missing = await server.app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('NOT_FOUND');
  });
});

describe('edge behind a matchmaker', () => {
  it('accepts tokens signed by the matchmaker key only, and serves no player API', async () => {
    const matchmaker = generateSessionKeyPair();
    const mmServer = await createEdge({
      config: parseEdgeConfig({
        port: 0,
        matchmakerPublicKey: matchmaker.publicKey,
        iceAllowedAddresses: ['127.0.0.1'],
        allowPrivateCandidates: true, // players on loopback
        logLevel: 'silent',
      }),
      logger: pino({ level: 'silent' }),
      encoderProbe: edge.encoderProbe,
    });
    try {
      const mmEdge = mmServer.edge;
      const url = await mmServer.listen({ host: '127.0.0.1', port: 0 });
      expect(mmEdge.standalone).toBe(false);
      expect((await mmServer.app.inject({ method: 'GET', url: '/v1/games' })).statusCode).toBe(404);
      expect(() => mmEdge.createSession('breakout')).toThrow(
        expect.objectContaining({ code: 'EDGE_BAD_CONFIG' }),
      );
      const now = Math.floor(Date.now() / 1000);
      const key = importSessionPrivateKey(matchmaker.privateKey);
      const signalUrl = `${url.replace('http', 'ws')}/v1/signal`;
      const started: string[] = [];
      mmEdge.on('sessionStarted', ({ sessionId }) => started.push(sessionId));
      const token = signSessionToken(
        { sid: 'mm-1', gameId: 'breakout', edgeId: mmEdge.id, iat: now, exp: now + 60 },
        key,
      );
      const player = new NodePlayer({ signalUrl, token });
      await player.waitFor(() => player.framesReceived > 3, 15_000, 'frames');
      expect(started).toEqual(['mm-1']);
      await player.close();
      const foreign = signSessionToken(
        { sid: 'mm-2', gameId: 'breakout', edgeId: edge.id, iat: now, exp: now + 60 },
        key,
      );
      const refused = new NodePlayer({ signalUrl, token: foreign });
      expect((await refused.closed).code).toBe(SignalCloseCodes.BAD_TOKEN);
      await refused.close();
      const expired = signSessionToken(
        { sid: 'mm-3', gameId: 'breakout', edgeId: mmEdge.id, iat: now - 600, exp: now - 300 },
        key,
      );
      const late = new NodePlayer({ signalUrl, token: expired });
      expect((await late.closed).code).toBe(SignalCloseCodes.BAD_TOKEN);
      expect(late.messages).toContainEqual(expect.objectContaining({ code: 'EDGE_TOKEN_EXPIRED' }));
      await late.close();
    } finally {
      await mmServer.close();
    }
  });
});
