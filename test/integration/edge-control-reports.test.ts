import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { CreateSessionResponse, SessionEvent } from '../../protocol/playerApi.js';
import { FakeEdge } from '../tools/FakeEdge.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { newEdgeAccount, playerKey, signedRegistration, TEST_BUILT_IN_GAMES } from './matchmaker-support.js';

// Issue 8: a refused or failed `started`/`ended` report is retried with backoff (and reconciled through
// heartbeats); an edge shutting down gracefully reports its sessions ended first, so players move at once.
const apps: MatchmakerApp[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const app of apps.splice(0)) await app.close();
});

async function startApp(): Promise<MatchmakerApp> {
  const app = await buildApp({
    config: {
      logLevel: 'silent',
      builtInGameIds: TEST_BUILT_IN_GAMES,
      sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
      edgeTtlMs: 60_000,
      heartbeatMs: 60_000,
    },
  });
  apps.push(app);
  await app.ready();
  return app;
}

/**
 * An HTTP front for `app` that answers the first `failures` session reports with 503 MM_STORE_UNAVAILABLE
 * (as a matchmaker whose Redis is away does) and counts the reports it sees.
 */
async function flakyFront(app: MatchmakerApp, failures: number) {
  const seen = { reports: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/edges/sessions' && seen.reports++ < failures) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'MM_STORE_UNAVAILABLE', message: 'store away' }));
        return;
      }
      void app
        .inject({
          method: req.method as 'GET' | 'POST',
          url: req.url ?? '/',
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          ...(chunks.length ? { payload: Buffer.concat(chunks) } : {}),
        })
        .then((r) => {
          res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'text/plain') });
          res.end(r.rawPayload);
        });
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen };
}

async function allocate(app: MatchmakerApp): Promise<CreateSessionResponse> {
  const r = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    payload: { gameId: 'pong', measurements: [], sessionKey: playerKey() },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as CreateSessionResponse;
}

describe('edge session reports', () => {
  it('retries a `started` report the matchmaker failed (503) with backoff until it lands', async () => {
    const app = await startApp();
    const front = await flakyFront(app, 3);
    const account = newEdgeAccount();
    const edge = new FakeEdge({ id: account.address, url: 'http://127.0.0.1:9/edge', capacity: 2 });
    const control = startEdgeControl({ edge, account, matchmakerUrl: front.url, heartbeatMs: 60_000 });
    try {
      await control.registered;
      await app.matchmaker.refresh();
      const s = await allocate(app);
      edge.running = [s.sessionId];
      edge.emit('sessionStarted', { sessionId: s.sessionId, gameId: 'pong' });
      await expect
        .poll(async () => (await app.inject({ url: `/v1/sessions/${s.sessionId}` })).json().state, {
          timeout: 15_000,
          interval: 100,
        })
        .toBe('active');
      expect(front.seen.reports).toBe(4); // three refused, the fourth landed
      expect(edge.ended).toEqual([]); // the session was never given up
    } finally {
      await control.close();
    }
  });

  it('an edge shutting down reports its sessions ended first: the player is moved at once', async () => {
    const app = await startApp();
    const account = newEdgeAccount();
    const edge = new FakeEdge({ id: account.address, url: 'http://127.0.0.1:9/edge', capacity: 1 });
    const front = await flakyFront(app, 0);
    const control = startEdgeControl({ edge, account, matchmakerUrl: front.url, heartbeatMs: 60_000 });
    await control.registered;
    await app.matchmaker.refresh();
    const s = await allocate(app);
    expect(s.edge.edgeId).toBe(account.address.toLowerCase());
    edge.running = [s.sessionId];
    edge.emit('sessionStarted', { sessionId: s.sessionId, gameId: 'pong' });
    await expect
      .poll(async () => (await app.inject({ url: `/v1/sessions/${s.sessionId}` })).json().state)
      .toBe('active');
    // Another edge with room.
    const other = newEdgeAccount();
    const payload = await signedRegistration(other, { capacity: 2 });
    expect((await app.inject({ method: 'POST', url: '/v1/edges/register', payload })).statusCode).toBe(200);
    await app.matchmaker.refresh();

    const events: SessionEvent[] = [];
    const off = app.matchmaker.onSessionEvent(s.sessionId, (e) => events.push(e));
    await control.close();
    // By the time close() resolves, the player already has its new session on the other edge.
    await expect.poll(() => events.length).toBe(1);
    off();
    expect(events[0]).toMatchObject({ type: 'moved', reason: 'edge-shutdown' });
    const moved = events[0] as Extract<SessionEvent, { type: 'moved' }>;
    expect(moved.session.edge.edgeId).toBe(other.address.toLowerCase());
    expect((await app.inject({ url: `/v1/sessions/${s.sessionId}` })).statusCode).toBe(404);
  });
});
