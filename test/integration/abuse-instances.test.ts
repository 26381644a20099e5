import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import { defaultMatchmakerConfig, type MatchmakerConfig } from '../../matchmaker/config.js';
import { newEdgeAccount, playerKey, signedRegistration } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

// Issue 8, "nobody starves the network", behind a load balancer: limits counted per matchmaker instance let
// an attacker multiply them by the number of instances. With Redis, two instances share each address's
// rate-limit bucket and its reservation cap.

const { build, sameState } = useMatchmakerStores('abuse-inst');

const ATTACKER = '203.0.113.77';
const PLAYER = '198.51.100.9';

async function twoInstances(config: Partial<MatchmakerConfig>): Promise<[MatchmakerApp, MatchmakerApp]> {
  const store = sameState('redis');
  const a = await build({ store: store(), config: { logLevel: 'silent', ...config } });
  const b = await build({ store: store(), config: { logLevel: 'silent', ...config } });
  return [a, b];
}

describe('two matchmaker instances on one Redis share the limits', () => {
  it('the per-address rate limit: what an address spent on one instance is spent on the other', async () => {
    const [a, b] = await twoInstances({ rateLimitMax: 6, rateLimitWindowMs: 60_000 });
    const games = (app: MatchmakerApp, from: string) => app.inject({ url: '/v1/games', remoteAddress: from });
    for (let i = 0; i < 3; i++) expect((await games(a, ATTACKER)).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expect((await games(b, ATTACKER)).statusCode).toBe(200);
    for (const app of [a, b]) {
      const over = await games(app, ATTACKER);
      expect(over.statusCode).toBe(429);
      expect(over.json().code).toBe('RATE_LIMITED');
    }
    // Another address is not hurt.
    expect((await games(b, PLAYER)).statusCode).toBe(200);
  });

  it('a burst of concurrent requests from one address (counted together per turn) still gets exactly the limit', async () => {
    const [a, b] = await twoInstances({ rateLimitMax: 10, rateLimitWindowMs: 60_000 });
    const burst = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        (i % 2 ? a : b).inject({ url: '/v1/games', remoteAddress: ATTACKER }),
      ),
    );
    const codes = burst.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expect(codes.filter((c) => c === 429)).toHaveLength(6);
    const last = burst.find((r) => r.statusCode === 429);
    expect(last?.json().code).toBe('RATE_LIMITED');
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
    expect((await a.inject({ url: '/v1/games', remoteAddress: PLAYER })).statusCode).toBe(200);
  });

  it('the cap of unconnected reservations per address holds across instances (MM_RESERVATION_LIMIT)', async () => {
    const [a, b] = await twoInstances({});
    for (const edge of [newEdgeAccount(), newEdgeAccount()]) {
      const r = await a.inject({
        method: 'POST',
        url: '/v1/edges/register',
        payload: await signedRegistration(edge, { capacity: 4 }),
      });
      expect(r.statusCode).toBe(200);
    }
    await a.matchmaker.refresh();
    await b.matchmaker.refresh();
    const ask = (app: MatchmakerApp, from: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/sessions',
        remoteAddress: from,
        payload: { gameId: 'pong', measurements: [], sessionKey: playerKey() },
      });
    const cap = defaultMatchmakerConfig().maxReservationsPerClient;
    const answers = [];
    // The attacker alternates instances, as a load balancer would spread it.
    for (let i = 0; i < 2 * cap + 2; i++) answers.push(await ask(i % 2 === 0 ? a : b, ATTACKER));
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(cap);
    for (const r of answers.filter((x) => x.statusCode !== 200)) {
      expect(r.statusCode).toBe(429);
      expect(r.json().code).toBe('MM_RESERVATION_LIMIT');
    }
    expect((await ask(b, PLAYER)).statusCode).toBe(200);
  });
});
