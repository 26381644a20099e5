import type { LocalAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import { haversineKm } from '../../matchmaker/geo.js';
import { MAX_EDGE_PEERS } from '../../protocol/edgeRegistration.js';
import type { Candidate, CreateSessionResponse, RttMeasurement } from '../../protocol/playerApi.js';
import { type ProbeEdgesResult, probeEdges } from '../../protocol/probeEdges.js';
import { newEdgeAccount, playerKey, signedHeartbeat, signedRegistration } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

const { storeKinds, build } = useMatchmakerStores('probe');

/** Twelve edges over four continents. */
const PLACES = [
  ['eu-west', 48.85, 2.35],
  ['eu-north', 59.33, 18.06],
  ['eu-south', 41.9, 12.5],
  ['us-east', 40.71, -74.0],
  ['us-central', 41.88, -87.63],
  ['us-west', 37.77, -122.42],
  ['sa-east', -23.55, -46.63],
  ['ap-northeast', 35.68, 139.69],
  ['ap-southeast', 1.35, 103.82],
  ['ap-south', 19.08, 72.88],
  ['au-east', -33.87, 151.21],
  ['af-south', -26.2, 28.05],
] as const;

/** A player's RTT to a place: fibre over the great circle (×1.5 path inflation) plus 4 ms of access. */
const rttTo = (player: { lat: number; lon: number }, lat: number, lon: number) =>
  4 + (haversineKm(player.lat, player.lon, lat, lon) / 200_000) * 1000 * 2 * 1.5;

/** Registers the twelve edges; with `peers`, each then reports its RTTs to the others in signed heartbeats. */
async function network(app: MatchmakerApp, peers: boolean) {
  const places = new Map<string, readonly [string, number, number]>();
  const accounts: LocalAccount[] = [];
  for (const place of PLACES) {
    const account = newEdgeAccount();
    const [region, lat, lon] = place;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/edges/register',
      payload: await signedRegistration(account, { region, lat, lon }),
    });
    expect(res.statusCode, res.body).toBe(200);
    places.set(account.address.toLowerCase(), place);
    accounts.push(account);
  }
  if (peers) {
    for (const [i, account] of accounts.entries()) {
      const [, lat, lon] = PLACES[i] as (typeof PLACES)[number];
      const others = accounts.filter((a) => a !== account);
      for (let at = 0; at < others.length; at += MAX_EDGE_PEERS) {
        const peerRtts = others.slice(at, at + MAX_EDGE_PEERS).map((peer) => {
          const [, peerLat, peerLon] = places.get(peer.address.toLowerCase()) ?? ['', 0, 0];
          return { edge: peer.address, rttMs: Math.round(rttTo({ lat, lon }, peerLat, peerLon) * 100) / 100 };
        });
        const res = await app.inject({
          method: 'POST',
          url: '/v1/edges/heartbeat',
          payload: await signedHeartbeat(account, { peerRtts }),
        });
        expect(res.statusCode, res.body).toBe(200);
      }
    }
  }
  await app.matchmaker.refresh();
  return places;
}

describe.each(storeKinds)('two probe rounds through the matchmaker (%s store)', (_kind, makeStore) => {
  const playFrom = (
    app: MatchmakerApp,
    places: Map<string, readonly [string, number, number]>,
    player: { lat: number; lon: number },
  ) => {
    const rounds: Candidate[][] = [];
    const play = async (last?: ProbeEdgesResult) => {
      rounds.length = 0;
      const found = await probeEdges(
        {
          async candidates(round) {
            const res = await app.inject({
              method: 'POST',
              url: '/v1/candidates',
              payload: { gameId: 'pong', ...round },
            });
            expect(res.statusCode, res.body).toBe(200);
            return (res.json() as { candidates: Candidate[] }).candidates;
          },
          async probe(candidates) {
            rounds.push([...candidates]);
            return candidates.map((c): RttMeasurement => {
              const [, lat, lon] = places.get(c.edgeId) ?? ['', 0, 0];
              return { edgeId: c.edgeId, rttMs: rttTo(player, lat, lon) };
            });
          },
        },
        last
          ? {
              remembered: last.coordinate,
              rememberedEdges: last.best,
              rememberedMeasurements: last.measurements,
            }
          : {},
      );
      const res = await app.inject({
        method: 'POST',
        url: '/v1/sessions',
        payload: {
          gameId: 'pong',
          measurements: found.measurements,
          coordinate: found.coordinate,
          sessionKey: playerKey(),
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      return { found, session: res.json() as CreateSessionResponse };
    };
    return { rounds, play };
  };

  it('a player with no location probes spread landmarks, then its nearest edges, and gets the nearest edge; it returns warm', async () => {
    const app = await build({ store: makeStore(), config: { logLevel: 'silent' }, random: () => 0.5 });
    const places = await network(app, false);
    // Lyon: Paris is the nearest edge
    const { rounds, play } = playFrom(app, places, { lat: 45.76, lon: 4.84 });

    const cold = await play();
    // Round 1: landmarks on different continents, each with the coordinate the page fits against.
    const landmarks = rounds[0] ?? [];
    expect(landmarks.length).toBe(6);
    expect(new Set(landmarks.map((c) => c.region.split('-')[0])).size).toBeGreaterThanOrEqual(4);
    expect(landmarks.every((c) => c.coordinate !== undefined)).toBe(true);
    // Round 2: ranked from the fitted coordinate (no edge-to-edge RTTs: no bounds); within 10 probes.
    expect(rounds.length).toBe(2);
    expect(rounds[1]?.every((c) => c.rttLowerBoundMs === undefined)).toBe(true);
    expect(cold.found.measurements.length).toBeLessThanOrEqual(10);
    expect(cold.session.edge.region).toBe('eu-west');
    expect(cold.found.coordinate).toBeDefined();

    // A returning player starts from what it kept: its first round already holds the nearest edge.
    // It keeps its best edges: Paris first.
    expect(cold.found.best[0]?.region).toBe('eu-west');
    const warm = await play(cold.found);
    expect(rounds[0]?.map((c) => c.region)).toContain('eu-west');
    expect(warm.found.measurements.length).toBeLessThan(cold.found.measurements.length);
    expect(warm.session.edge.region).toBe('eu-west');
  });

  it('a cold request with no location is placed from its client address (a trusted proxy forwards it)', async () => {
    const app = await build({
      store: makeStore(),
      config: { logLevel: 'silent', trustProxy: '127.0.0.1' },
      random: () => 0.5,
    });
    const places = await network(app, false);
    await app.matchmaker.ipLocator.load();
    const ask = async (payload: Record<string, unknown>, forwardedFor?: string) => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/candidates',
        payload: { gameId: 'pong', ...payload },
        ...(forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {}),
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { candidates: Candidate[]; locatedBy: string };
      return { locatedBy: body.locatedBy, regions: body.candidates.map((c) => places.get(c.edgeId)?.[0]) };
    };
    // The University of Tokyo's network: Tokyo's edge first; Mountain View (8.8.8.8): San Francisco's.
    const tokyo = await ask({ limit: 3 }, '130.69.1.1');
    expect(tokyo.locatedBy).toBe('ip');
    expect(tokyo.regions[0]).toBe('ap-northeast');
    const google = await ask({ limit: 3 }, '8.8.8.8');
    expect(google).toMatchObject({
      locatedBy: 'ip',
      regions: ['us-west', expect.anything(), expect.anything()],
    });
    // Round 1 of a cold player: the landmarks' farthest-point seeds start from the address's location.
    expect((await ask({ landmarks: true, limit: 6 }, '130.69.1.1')).locatedBy).toBe('ip');
    // A location the page gives stands; a time-zone guess gives way to the address's location.
    expect(await ask({ limit: 3, lat: 48.85, lon: 2.35 }, '130.69.1.1')).toMatchObject({
      locatedBy: 'page',
      regions: ['eu-west', expect.anything(), expect.anything()],
    });
    expect(
      await ask({ limit: 3, lat: 48.85, lon: 2.35, locationSource: 'timezone' }, '130.69.1.1'),
    ).toMatchObject({ locatedBy: 'ip', regions: ['ap-northeast', expect.anything(), expect.anything()] });
    // A private address (or the loopback peer itself) has no location.
    expect((await ask({ limit: 3 }, '192.168.1.20')).locatedBy).toBe('none');
    expect((await ask({ limit: 3 })).locatedBy).toBe('none');
  });

  it('with ipLocationDb off, the client address places nobody', async () => {
    const app = await build({
      store: makeStore(),
      config: { logLevel: 'silent', trustProxy: '127.0.0.1', ipLocationDb: 'off' },
    });
    await network(app, false);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/candidates',
      payload: { gameId: 'pong', limit: 3 },
      headers: { 'x-forwarded-for': '130.69.1.1' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ locatedBy: 'none' });
  });

  it("with the edges' RTTs to each other, round 2 probes only edges whose lower bound beats the best landmark", async () => {
    const app = await build({ store: makeStore(), config: { logLevel: 'silent' }, random: () => 0.5 });
    const places = await network(app, true);
    // Naples: Rome is the nearest edge, not among the landmarks (Paris is the nearest of those).
    const player = { lat: 40.85, lon: 14.27 };
    const { rounds, play } = playFrom(app, places, player);
    const cold = await play();
    expect(cold.session.edge.region).toBe('eu-south');
    const landmarks = rounds[0] ?? [];
    expect(landmarks.map((c) => c.region)).not.toContain('eu-south');
    const best = Math.min(
      ...landmarks.map((c) =>
        rttTo(player, ...((places.get(c.edgeId) ?? ['', 0, 0]).slice(1) as [number, number])),
      ),
    );
    const second = rounds[1] ?? [];
    expect(second.map((c) => c.region)).toContain('eu-south');
    for (const c of second) {
      // Each bound is a true lower bound here (the RTTs obey the triangle inequality) and below the best.
      const [, lat, lon] = places.get(c.edgeId) ?? ['', 0, 0];
      expect(c.rttLowerBoundMs).toBeDefined();
      expect(c.rttLowerBoundMs as number).toBeLessThan(best);
      expect(c.rttLowerBoundMs as number).toBeLessThanOrEqual(rttTo(player, lat, lon) + 0.1);
    }
    // Edges the bounds rule out are not probed: far fewer than the 10 allowed.
    expect(cold.found.measurements.length).toBeLessThan(10);
  });
});
