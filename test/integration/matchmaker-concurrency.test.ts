import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { deleteRedisPrefix } from '../../matchmaker/store/createRedisStore.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import {
  newEdgeAccount,
  playerKey,
  signedRegistration,
  signedReport,
  TEST_BUILT_IN_GAMES,
  testPrefix,
} from './matchmaker-support.js';

const redisUrl = inject('redisUrl');
const keyPrefix = testPrefix('concurrency');
const apps: MatchmakerApp[] = [];
const redis = new Redis(redisUrl);

afterAll(async () => {
  for (const app of apps) await app.close();
  redis.disconnect();
  await deleteRedisPrefix(redisUrl, keyPrefix);
});

async function heldSlots(edgeIds: string[]): Promise<Record<string, string[]>> {
  const [sec, micro] = await redis.time();
  const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000);
  const out: Record<string, string[]> = {};
  for (const id of edgeIds) out[id] = await redis.zrangebyscore(`${keyPrefix}slots:${id}`, now, '+inf');
  return out;
}

describe('two matchmaker instances on one Redis', () => {
  it('never double-books a slot under concurrent allocation and leaks none after release or expiry', async () => {
    const config = {
      logLevel: 'silent' as const,
      builtInGameIds: TEST_BUILT_IN_GAMES,
      redisUrl,
      keyPrefix,
      sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
      // Long enough that no reservation expires (and no edge, which never heartbeats here, dies)
      // during the bursts below on a loaded machine.
      reservationTtlMs: 10_000,
      edgeTtlMs: 120_000,
      refreshMs: 100,
      rateLimitMax: 100_000,
      // Every player here comes from 127.0.0.1 and none connects: no per-address cap of unconnected reservations.
      maxReservationsPerClient: 0,
    };
    for (let i = 0; i < 2; i++) {
      const app = await buildApp({ config });
      await app.listen({ port: 0, host: '127.0.0.1' });
      apps.push(app);
    }
    const [a, b] = apps as [MatchmakerApp, MatchmakerApp];
    const urls = apps.map((app) => {
      const addr = app.server.address();
      if (!addr || typeof addr === 'string') throw new Error('no address');
      return `http://127.0.0.1:${addr.port}`;
    });

    const edges = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const account = newEdgeAccount();
        const reg = await signedRegistration(account, {
          capacity: 3,
          region: `r${i % 4}`,
          lat: 40 + i * 0.5,
          lon: -5 + i,
          publicUrl: `http://edge${i}.test`,
        });
        // Register half of them through each instance.
        const res = await (i % 2 ? a : b).inject({ method: 'POST', url: '/v1/edges/register', payload: reg });
        expect(res.statusCode).toBe(200);
        return { account, id: account.address.toLowerCase() };
      }),
    );
    await Promise.all(apps.map((app) => app.matchmaker.refresh()));
    const totalSlots = 20 * 3;

    const allocate = async (n: number) => {
      const results = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const res = await fetch(`${urls[i % 2]}/v1/sessions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              sessionKey: playerKey(),
              gameId: 'pong',
              // Everyone measured the same few edges: maximum contention.
              measurements: edges.slice(0, 3).map((e, j) => ({ edgeId: e.id, rttMs: 10 + j })),
            }),
          });
          return {
            status: res.status,
            body: (await res.json()) as { sessionId?: string; code?: string; edge?: { edgeId: string } },
          };
        }),
      );
      return results;
    };

    const first = await allocate(200);
    const ok = first.filter((r) => r.status === 200);
    expect(ok).toHaveLength(totalSlots);
    expect(first.filter((r) => r.status === 503).every((r) => r.body.code === 'MM_NO_CAPACITY')).toBe(true);
    expect(new Set(ok.map((r) => r.body.sessionId)).size).toBe(totalSlots);
    let held = await heldSlots(edges.map((e) => e.id));
    for (const sids of Object.values(held)) expect(sids.length).toBe(3);
    const allHeld = Object.values(held).flat();
    expect(new Set(allHeld).size).toBe(totalSlots);

    // The edges start half of the sessions and end a third of those; the rest are never used.
    const byId = new Map(edges.map((e) => [e.id, e]));
    const sessions = ok.map((r) => ({
      sid: r.body.sessionId as string,
      edge: byId.get(r.body.edge?.edgeId ?? ''),
    }));
    const started = sessions.filter((_, i) => i % 2 === 0);
    for (const s of started) {
      const res = await (s.sid.charCodeAt(0) % 2 ? a : b).inject({
        method: 'POST',
        url: '/v1/edges/sessions',
        payload: await signedReport(s.edge?.account ?? newEdgeAccount(), s.sid, 'started'),
      });
      expect(res.statusCode).toBe(200);
    }
    const ended = started.filter((_, i) => i % 3 === 0);
    for (const s of ended) {
      await a.inject({
        method: 'POST',
        url: '/v1/edges/sessions',
        payload: await signedReport(s.edge?.account ?? newEdgeAccount(), s.sid, 'ended', 'done'),
      });
    }
    // The unused reservations expire; the started sessions stay.
    const expected = new Set(started.filter((s) => !ended.includes(s)).map((s) => s.sid));
    await expect
      .poll(async () => new Set(Object.values(await heldSlots(edges.map((e) => e.id))).flat()), {
        timeout: 30_000,
        interval: 250,
      })
      .toEqual(expected);

    // The freed slots are allocatable again, through both instances, still never beyond capacity.
    await Promise.all(apps.map((app) => app.matchmaker.refresh()));
    const second = await allocate(100);
    expect(second.filter((r) => r.status === 200)).toHaveLength(totalSlots - expected.size);
    held = await heldSlots(edges.map((e) => e.id));
    for (const sids of Object.values(held)) expect(sids.length).toBe(3);
  });
});
