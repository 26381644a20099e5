import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import { defaultMatchmakerConfig, type MatchmakerConfig } from '../../matchmaker/config.js';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import { newEdgeAccount, playerKey, signedRegistration, signedReport } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

// Issue 8, "nobody starves the network": session requests that never connect must not hold the network's
// slots. Each holder (session key, client address) may hold only a few unconnected reservations, and an
// unconnected reservation lapses fast.

const { storeKinds, build } = useMatchmakerStores('abuse-res');

const ATTACKER = '203.0.113.66';
const PLAYER = '198.51.100.7';

describe.each(storeKinds)('reservation limits (%s store)', (_kind, makeStore) => {
  async function start(config: Partial<MatchmakerConfig> = {}) {
    const app = await build({ store: makeStore(), config: { logLevel: 'silent', ...config } });
    // Two edges of 4 slots: 8 slots in all, what 8 never-connecting requests used to take.
    const edges = [newEdgeAccount(), newEdgeAccount()];
    for (const edge of edges) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/edges/register',
        payload: await signedRegistration(edge, { capacity: 4 }),
      });
      expect(res.statusCode).toBe(200);
    }
    await app.matchmaker.refresh();
    return { app, edges };
  }

  const ask = (app: MatchmakerApp, from: string, sessionKey = playerKey()) =>
    app.inject({
      method: 'POST',
      url: '/v1/sessions',
      remoteAddress: from,
      payload: { gameId: 'pong', measurements: [], sessionKey },
    });

  it('8 requests that never connect do not block a new player (per-address cap, MM_RESERVATION_LIMIT)', async () => {
    const { app } = await start();
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await ask(app, ATTACKER));
    const granted = answers.filter((a) => a.statusCode === 200);
    const refused = answers.filter((a) => a.statusCode !== 200);
    expect(granted).toHaveLength(defaultMatchmakerConfig().maxReservationsPerClient);
    for (const r of refused) {
      expect(r.statusCode).toBe(429);
      expect(r.json().code).toBe('MM_RESERVATION_LIMIT');
    }
    // Refused requests hold nothing: the edges count only the granted reservations.
    await app.matchmaker.refresh();
    const used = ((await app.inject({ url: '/v1/edges' })).json().edges as { usedSlots: number }[]).reduce(
      (sum, e) => sum + e.usedSlots,
      0,
    );
    expect(used).toBe(granted.length);
    // Someone else still gets a game.
    const player = await ask(app, PLAYER);
    expect(player.statusCode, player.body).toBe(200);
  });

  it('one session key holds at most maxReservationsPerKey unconnected reservations, from any address', async () => {
    const { app } = await start();
    const key = playerKey();
    const max = defaultMatchmakerConfig().maxReservationsPerKey;
    for (let i = 0; i < max; i++) expect((await ask(app, `192.0.2.${10 + i}`, key)).statusCode).toBe(200);
    const over = await ask(app, '192.0.2.99', key);
    expect(over.statusCode).toBe(429);
    expect(over.json().code).toBe('MM_RESERVATION_LIMIT');
    expect((await ask(app, '192.0.2.99')).statusCode).toBe(200);
  });

  it('started sessions do not count; an unconnected reservation lapses fast and frees its slot', async () => {
    const { app, edges } = await start({ reservationTtlMs: 1000 });
    const max = defaultMatchmakerConfig().maxReservationsPerClient;
    const sessions: CreateSessionResponse[] = [];
    for (let i = 0; i < max; i++) sessions.push((await ask(app, ATTACKER)).json() as CreateSessionResponse);
    expect((await ask(app, ATTACKER)).json().code).toBe('MM_RESERVATION_LIMIT');
    // The first one connects (its edge reports the start): the address may ask again.
    const first = sessions[0] as CreateSessionResponse;
    const edge = edges.find((e) => e.address.toLowerCase() === first.edge.edgeId);
    if (!edge) throw new Error('no edge for the session');
    const started = await app.inject({
      method: 'POST',
      url: '/v1/edges/sessions',
      payload: await signedReport(edge, first.sessionId, 'started'),
    });
    expect(started.statusCode).toBe(200);
    expect((await ask(app, ATTACKER)).statusCode).toBe(200);
    expect((await ask(app, ATTACKER)).json().code).toBe('MM_RESERVATION_LIMIT');
    // The others never connect: they lapse, their slots come back and the address may ask again.
    await expect
      .poll(async () => (await app.inject({ url: `/v1/sessions/${sessions[1]?.sessionId}` })).statusCode, {
        timeout: 10_000,
      })
      .toBe(404);
    expect((await ask(app, ATTACKER)).statusCode).toBe(200);
    expect((await app.inject({ url: `/v1/sessions/${first.sessionId}` })).json().state).toBe('active');
  });
});

it('by default a session request without a session key is refused (MM_NOT_SESSION_OWNER)', async () => {
  const app = await build({ config: { logLevel: 'silent' } });
  const res = await app.inject({
    method: 'POST',
    url: '/v1/sessions',
    payload: { gameId: 'pong', measurements: [] },
  });
  expect(res.statusCode).toBe(403);
  expect(res.json().code).toBe('MM_NOT_SESSION_OWNER');
});

it('unconnected reservations lapse in 10 s by default, and a token is not worth more than that', () => {
  const config = defaultMatchmakerConfig();
  expect(config.reservationTtlMs).toBeLessThanOrEqual(10_000);
  expect(config.tokenTtlS * 1000).toBeLessThanOrEqual(config.reservationTtlMs);
});
