import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startEdgeControl } from '../../edge/control/startEdgeControl.js';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { MatchmakerConfig } from '../../matchmaker/config.js';
import { SessionKey } from '../../player/src/SessionKey.js';
import type { CreateSessionResponse, SessionEvent } from '../../protocol/playerApi.js';
import { importSessionPublicKey, verifySessionToken } from '../../protocol/sessionToken.js';
import { FakeEdge } from '../tools/FakeEdge.js';
import { testPlayerAuth } from '../tools/testDeployment.js';
import {
  eventsUrl,
  newEdgeAccount,
  playerKey,
  signedHeartbeat,
  signedRegistration,
  signedReport,
} from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

/** Heartbeats the app accepted so far, from its Prometheus metrics. */
async function heartbeatsAccepted(app: MatchmakerApp): Promise<number> {
  const text = (await app.inject({ url: '/metrics' })).body;
  const line = /farplay_mm_edge_messages_total\{kind="heartbeat",result="ok"\} (\d+)/.exec(text);
  return Number(line?.[1] ?? 0);
}

const { storeKinds, build } = useMatchmakerStores('app');

const PARIS = { region: 'eu-west', lat: 48.85, lon: 2.35 };
const LONDON = { region: 'eu-north', lat: 51.5, lon: -0.12 };
const NEW_YORK = { region: 'us-east', lat: 40.71, lon: -74.0 };

describe.each(storeKinds)('matchmaker app (%s store)', (_kind, makeStore) => {
  async function start(config: Partial<MatchmakerConfig> = {}): Promise<MatchmakerApp> {
    const store = makeStore();
    const app = await build({
      store,
      config: { logLevel: 'silent', studioApiKeys: 'acme=acme-key,umbrella=umbrella-key', ...config },
      random: () => 0.5,
    });
    await app.ready();
    return app;
  }

  async function register(app: MatchmakerApp, place: typeof PARIS, capacity = 4) {
    const account = newEdgeAccount();
    const body = await signedRegistration(account, { ...place, capacity });
    const res = await app.inject({ method: 'POST', url: '/v1/edges/register', payload: body });
    expect(res.statusCode, res.body).toBe(200);
    return { account, id: account.address.toLowerCase() };
  }

  it('registers signed edges and refuses bad signatures, replays, stale and malformed messages', async () => {
    const app = await start();
    const account = newEdgeAccount();
    const body = await signedRegistration(account, PARIS);
    const ok = await app.inject({ method: 'POST', url: '/v1/edges/register', payload: body });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ edgeId: account.address.toLowerCase() });

    const replay = await app.inject({ method: 'POST', url: '/v1/edges/register', payload: body });
    expect(replay.statusCode).toBe(409);
    expect(replay.json().code).toBe('MM_REPLAY');

    const other = newEdgeAccount();
    const forged = await signedRegistration(other, PARIS);
    forged.payload.capacity = 1000; // changed after signing
    const bad = await app.inject({ method: 'POST', url: '/v1/edges/register', payload: forged });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('MM_BAD_SIGNATURE');

    const impostor = await signedRegistration(other, { ...PARIS, edge: account.address });
    const stolen = await app.inject({ method: 'POST', url: '/v1/edges/register', payload: impostor });
    expect(stolen.json().code).toBe('MM_BAD_SIGNATURE');

    const stale = await signedRegistration(other, { ...PARIS, issuedAt: Date.now() - 10 * 60_000 });
    const old = await app.inject({ method: 'POST', url: '/v1/edges/register', payload: stale });
    expect(old.statusCode).toBe(400);
    expect(old.json().code).toBe('MM_STALE_MESSAGE');

    const malformed = await app.inject({
      method: 'POST',
      url: '/v1/edges/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"payload": {"edge": "nope"}',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('BAD_REQUEST');
    const invalid = await app.inject({ method: 'POST', url: '/v1/edges/register', payload: { payload: {} } });
    expect(invalid.json().code).toBe('BAD_REQUEST');

    const huge = await app.inject({
      method: 'POST',
      url: '/v1/edges/register',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ pad: 'x'.repeat(400_000) }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('PAYLOAD_TOO_LARGE');

    const hb = await app.inject({
      method: 'POST',
      url: '/v1/edges/heartbeat',
      payload: await signedHeartbeat(other),
    });
    expect(hb.statusCode).toBe(404);
    expect(hb.json().code).toBe('MM_UNKNOWN_EDGE');
    const hbOk = await app.inject({
      method: 'POST',
      url: '/v1/edges/heartbeat',
      payload: await signedHeartbeat(account),
    });
    expect(hbOk.statusCode).toBe(200);

    await app.matchmaker.refresh();
    const edges = (await app.inject({ url: '/v1/edges' })).json().edges as {
      edgeId: string;
      capacity: number;
    }[];
    // Nothing of the refused messages was written.
    expect(edges).toEqual([expect.objectContaining({ edgeId: account.address.toLowerCase(), capacity: 4 })]);
  });

  it('offers nearby candidates and allocates the lowest measured RTT with a token the edge can verify', async () => {
    const app = await start();
    const paris = await register(app, PARIS);
    const london = await register(app, LONDON);
    const ny = await register(app, NEW_YORK);
    await app.matchmaker.refresh();

    const games = (await app.inject({ url: '/v1/games' })).json().games as { id: string }[];
    expect(games.map((g) => g.id)).toContain('pong');

    const cands = await app.inject({
      method: 'POST',
      url: '/v1/candidates',
      payload: { gameId: 'pong', lat: 48.1, lon: 2.0, limit: 2 },
    });
    expect(cands.statusCode).toBe(200);
    const candidates = cands.json().candidates as {
      edgeId: string;
      probeUrl: string;
      priceMultiplier: number;
    }[];
    expect(candidates).toHaveLength(2);
    expect(candidates[0]?.edgeId).toBe(paris.id);
    expect(candidates[0]?.probeUrl).toMatch(/\/v1\/probe$/);
    expect(candidates[0]?.priceMultiplier).toBeGreaterThanOrEqual(1);
    expect(candidates.map((c) => c.edgeId)).not.toContain(ny.id);

    const res = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: {
        sessionKey: playerKey(),
        gameId: 'pong',
        measurements: [
          { edgeId: paris.account.address, rttMs: 31 },
          { edgeId: london.account.address, rttMs: 9 },
          { edgeId: ny.account.address, rttMs: 85 },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const session = res.json() as CreateSessionResponse;
    expect(session.edge.edgeId).toBe(london.id);
    expect(session.edge.signalUrl).toMatch(/^ws:\/\/.*\/v1\/signal$/);
    const info = (await app.inject({ url: '/v1/matchmaker' })).json();
    const claims = verifySessionToken({
      token: session.token,
      publicKey: importSessionPublicKey(info.sessionPublicKey),
      edgeId: london.id,
    });
    expect(claims).toMatchObject({ sid: session.sessionId, gameId: 'pong', edgeId: london.id });

    // Only the allocated edge may report the session.
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/edges/sessions',
      payload: await signedReport(paris.account, session.sessionId, 'started'),
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('MM_NOT_SESSION_EDGE');
    const started = await app.inject({
      method: 'POST',
      url: '/v1/edges/sessions',
      payload: await signedReport(london.account, session.sessionId, 'started'),
    });
    expect(started.statusCode).toBe(200);
    expect((await app.inject({ url: `/v1/sessions/${session.sessionId}` })).json().state).toBe('active');
    const ended = await app.inject({
      method: 'POST',
      url: '/v1/edges/sessions',
      payload: await signedReport(london.account, session.sessionId, 'ended', 'player left'),
    });
    expect(ended.statusCode).toBe(200);
    const gone = await app.inject({ url: `/v1/sessions/${session.sessionId}` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe('MM_UNKNOWN_SESSION');

    const unknownGame = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { sessionKey: playerKey(), gameId: 'no-such-game', measurements: [] },
    });
    expect(unknownGame.statusCode).toBe(404);
    expect(unknownGame.json().code).toBe('MM_UNKNOWN_GAME');
  });

  it('ranks by the location a session request carries when the player measured nothing', async () => {
    const app = await start();
    await register(app, PARIS);
    const ny = await register(app, NEW_YORK);
    await app.matchmaker.refresh();
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { sessionKey: playerKey(), gameId: 'pong', measurements: [], lat: 40.0, lon: -75.0 },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect((res.json() as CreateSessionResponse).edge.edgeId).toBe(ny.id);
    }
  });

  it('fills edges to capacity, then answers MM_NO_CAPACITY until a slot is released', async () => {
    const app = await start();
    const a = await register(app, PARIS, 1);
    const b = await register(app, LONDON, 1);
    await app.matchmaker.refresh();
    const ask = () =>
      app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { sessionKey: playerKey(), gameId: 'pong', measurements: [] },
      });
    const first = (await ask()).json() as CreateSessionResponse;
    const second = (await ask()).json() as CreateSessionResponse;
    expect(new Set([first.edge.edgeId, second.edge.edgeId])).toEqual(new Set([a.id, b.id]));
    const third = await ask();
    expect(third.statusCode).toBe(503);
    expect(third.json().code).toBe('MM_NO_CAPACITY');
    const owner = first.edge.edgeId === a.id ? a : b;
    await app.inject({
      method: 'POST',
      url: '/v1/edges/sessions',
      payload: await signedReport(owner.account, first.sessionId, 'ended', 'done'),
    });
    await app.matchmaker.refresh();
    expect((await ask()).statusCode).toBe(200);
  });

  it('publishes studio games with API keys and content-addressed packages', async () => {
    const app = await start({ packageLimit: 64 * 1024 });
    await register(app, PARIS);
    const pkg = Buffer.from('#!/bin/sh\necho game\n');
    const noKey = await app.inject({
      method: 'PUT',
      url: '/v1/studio/packages',
      headers: { 'content-type': 'application/octet-stream' },
      payload: pkg,
    });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.json().code).toBe('MM_BAD_API_KEY');
    const auth = { authorization: 'Bearer acme-key', 'content-type': 'application/octet-stream' };
    const mismatch = await app.inject({
      method: 'PUT',
      url: `/v1/studio/packages?sha256=${'0'.repeat(64)}`,
      headers: auth,
      payload: pkg,
    });
    expect(mismatch.json().code).toBe('MM_PACKAGE_MISMATCH');
    const tooBig = await app.inject({
      method: 'PUT',
      url: '/v1/studio/packages',
      headers: auth,
      payload: Buffer.alloc(100 * 1024),
    });
    expect(tooBig.statusCode).toBe(413);
    const up = await app.inject({ method: 'PUT', url: '/v1/studio/packages', headers: auth, payload: pkg });
    expect(up.statusCode).toBe(200);
    const { sha256 } = up.json() as { sha256: string };
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    // Nobody may download it before a game uses it (packages go to edges and that game's players only).
    expect((await app.inject({ url: `/v1/packages/${sha256}` })).json().code).toBe('MM_PACKAGE_FORBIDDEN');

    const manifest = {
      id: 'space-race',
      title: 'Space Race',
      description: 'A studio game',
      width: 1280,
      height: 720,
      fps: 60,
      pricePerMinute: '2000',
      input: ['keyboard', 'gamepad'],
      runtime: 'package',
      command: './run.sh',
      packageSha256: 'f'.repeat(64),
    };
    const json = { authorization: 'Bearer acme-key' };
    const missing = await app.inject({
      method: 'POST',
      url: '/v1/studio/games',
      headers: json,
      payload: manifest,
    });
    expect(missing.json().code).toBe('MM_UNKNOWN_PACKAGE');
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/studio/games',
      headers: json,
      payload: { ...manifest, packageSha256: sha256 },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    const theirs = await app.inject({
      method: 'POST',
      url: '/v1/studio/games',
      headers: { authorization: 'Bearer umbrella-key' },
      payload: { ...manifest, packageSha256: sha256 },
    });
    expect(theirs.statusCode).toBe(403);
    expect(theirs.json().code).toBe('MM_FORBIDDEN');
    await app.matchmaker.refresh();
    const ids = ((await app.inject({ url: '/v1/games' })).json().games as { id: string }[]).map((g) => g.id);
    expect(ids).toEqual(expect.arrayContaining(['pong', 'space-race']));
    const download = await app.inject({
      url: `/v1/packages/${sha256}`,
      headers: testPlayerAuth('space-race'),
    });
    expect(download.rawPayload.equals(pkg)).toBe(true);
    // A package game runs only on edges that advertise the x11 runtime: the pong-only edge cannot take it.
    const refused = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { sessionKey: playerKey(), gameId: 'space-race', measurements: [] },
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.json().code).toBe('MM_NO_CAPACITY');
    const nativeEdge = newEdgeAccount();
    const registration = await signedRegistration(nativeEdge, { ...LONDON, runtimes: ['x11'] });
    expect(
      (await app.inject({ method: 'POST', url: '/v1/edges/register', payload: registration })).statusCode,
    ).toBe(200);
    await app.matchmaker.refresh();
    const session = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { sessionKey: playerKey(), gameId: 'space-race', measurements: [] },
    });
    expect(session.statusCode, session.body).toBe(200);
    expect((session.json() as CreateSessionResponse).edge.edgeId).toBe(nativeEdge.address.toLowerCase());
    // The edge starts the game from its manifest.
    const manifestAnswer = await app.inject({ url: '/v1/games/space-race/manifest' });
    expect(manifestAnswer.json()).toMatchObject({
      id: 'space-race',
      runtime: 'package',
      command: './run.sh',
      packageSha256: sha256,
      studio: 'acme',
    });
    expect((await app.inject({ url: '/v1/games/pong/manifest' })).json().code).toBe('MM_UNKNOWN_GAME');
  });

  it('moves players of a dead edge to the next best edge over the events socket', async () => {
    const app = await start({ edgeTtlMs: 1000, reapMs: 100, refreshMs: 100 });
    const near = await register(app, PARIS);
    const next = await register(app, LONDON);
    const far = await register(app, NEW_YORK);
    const keepAlive = setInterval(() => {
      for (const e of [next, far]) {
        void signedHeartbeat(e.account).then((payload) =>
          app.inject({ method: 'POST', url: '/v1/edges/heartbeat', payload }),
        );
      }
    }, 250);
    try {
      await app.matchmaker.refresh();
      const measurements = [
        { edgeId: near.id, rttMs: 5 },
        { edgeId: next.id, rttMs: 15 },
        { edgeId: far.id, rttMs: 90 },
      ];
      const key = SessionKey.create();
      const res = await app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: { sessionKey: key.address, gameId: 'pong', measurements },
      });
      const session = res.json() as CreateSessionResponse;
      expect(session.edge.edgeId).toBe(near.id);
      await app.inject({
        method: 'POST',
        url: '/v1/edges/sessions',
        payload: await signedReport(near.account, session.sessionId, 'started'),
      });
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      const ws = new WebSocket(await eventsUrl(address, session, key));
      const event = new Promise<SessionEvent>((resolve, reject) => {
        ws.once('message', (data) => resolve(JSON.parse(String(data)) as SessionEvent));
        ws.once('error', reject);
      });
      await new Promise((resolve) => ws.once('open', resolve));
      // `near` stops heartbeating now: it dies after its TTL.
      const moved = await event;
      ws.close();
      expect(moved.type).toBe('moved');
      if (moved.type !== 'moved') return;
      expect(moved.session.edge.edgeId).toBe(next.id);
      expect(moved.session.sessionId).not.toBe(session.sessionId);
      const status = await app.inject({ url: `/v1/sessions/${moved.session.sessionId}` });
      expect(status.json()).toMatchObject({ edgeId: next.id, state: 'reserved' });
      await app.matchmaker.refresh();
      const live = ((await app.inject({ url: '/v1/edges' })).json().edges as { edgeId: string }[]).map(
        (e) => e.edgeId,
      );
      expect(live).not.toContain(near.id);
    } finally {
      clearInterval(keepAlive);
    }
  });

  it('runs an edge through edge/control: registers, heartbeats, reports start and end', async () => {
    const app = await start({ edgeTtlMs: 1500, refreshMs: 100 });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const account = newEdgeAccount();
    const edge = new FakeEdge({ id: account.address, url: 'http://127.0.0.1:9/edge', ...PARIS });
    const control = startEdgeControl({
      edge,
      account,
      matchmakerUrl: url,
      heartbeatMs: 200,
    });
    try {
      await control.registered;
      // Several heartbeats arrive (TTL is 1.5 s): the edge is kept alive by them, not by its registration.
      await expect.poll(() => heartbeatsAccepted(app), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      await app.matchmaker.refresh();
      const edges = (await app.inject({ url: '/v1/edges' })).json().edges as {
        edgeId: string;
        games: string[];
      }[];
      expect(edges).toEqual([
        expect.objectContaining({ edgeId: account.address.toLowerCase(), games: ['pong'] }),
      ]);
      const s = (
        await app.inject({
          method: 'POST',
          url: '/v1/sessions',
          payload: { sessionKey: playerKey(), gameId: 'pong', measurements: [] },
        })
      ).json() as CreateSessionResponse;
      edge.active = 1;
      edge.emit('sessionStarted', { sessionId: s.sessionId, gameId: 'pong' });
      await expect
        .poll(async () => (await app.inject({ url: `/v1/sessions/${s.sessionId}` })).json().state)
        .toBe('active');
      // A player with a token the matchmaker never issued (or that expired) is turned away.
      edge.emit('sessionStarted', { sessionId: 'forged-session', gameId: 'pong' });
      await expect.poll(() => edge.ended).toEqual(['forged-session']);
      edge.active = 0;
      edge.emit('sessionEnded', { sessionId: s.sessionId, reason: 'player left', code: 1000 });
      await expect
        .poll(async () => (await app.inject({ url: `/v1/sessions/${s.sessionId}` })).statusCode)
        .toBe(404);
    } finally {
      await control.close();
      await control.close();
    }
    // Without heartbeats the edge leaves the registry once its TTL passes.
    await expect
      .poll(
        async () => {
          await app.matchmaker.refresh();
          return (await app.inject({ url: '/v1/edges' })).json().edges;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toEqual([]);
  });
});
