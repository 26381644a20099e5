import type { LocalAccount } from 'viem';
import { describe, expect, it } from 'vitest';
import type { MatchmakerApp } from '../../matchmaker/buildApp.js';
import type { MatchmakerStore } from '../../matchmaker/store/MatchmakerStore.js';
import type { EdgePeerRtt } from '../../protocol/edgeRegistration.js';
import type { HeartbeatResponse } from '../../protocol/matchmakerApi.js';
import { geoCoordinate, type NetworkCoordinate, predictRtt } from '../../protocol/networkCoordinates.js';
import { newEdgeAccount, signedHeartbeat, signedRegistration } from './matchmaker-support.js';
import { useMatchmakerStores } from './matchmakerStores.js';

// Issue 8, "coordinates cannot be poisoned": edges measure each other (RTTs in their signed heartbeats) and
// the matchmaker places them from those measurements, not from geography alone; absurd RTTs move nothing.

const { storeKinds, build } = useMatchmakerStores('anchors');

const SITES = [
  { region: 'eu-west', lat: 48.86, lon: 2.35 },
  { region: 'eu-north', lat: 51.5, lon: -0.12 },
  { region: 'eu-central', lat: 50.11, lon: 8.68 },
  { region: 'eu-south', lat: 40.42, lon: -3.7 },
];

/** Where the edges "really" are: geography shifted and with longer access links (what the RTTs say). */
const TRUE = SITES.map((s, i) => {
  const c = geoCoordinate(s.lat, s.lon, 5 + i);
  c.v[i % 3] = (c.v[i % 3] as number) + (i % 2 === 0 ? 6 : -6);
  return c;
});

async function setUp(makeStore: () => MatchmakerStore) {
  const store = makeStore();
  const app = await build({
    store,
    config: {
      logLevel: 'silent',
      rateLimitMax: 100_000,
      edgeRateLimitMax: 100_000,
      edgeTtlMs: 120_000,
      refreshMs: 3_600_000,
      reapMs: 3_600_000,
    },
  });
  await app.ready();
  const accounts: LocalAccount[] = [];
  for (const site of SITES) {
    const account = newEdgeAccount();
    const payload = await signedRegistration(account, { ...site, capacity: 4 });
    expect((await app.inject({ method: 'POST', url: '/v1/edges/register', payload })).statusCode).toBe(200);
    accounts.push(account);
  }
  await app.matchmaker.refresh();
  return { store, app, accounts };
}

async function beat(app: MatchmakerApp, account: LocalAccount, peerRtts: EdgePeerRtt[]) {
  const payload = await signedHeartbeat(account, { peerRtts });
  const r = await app.inject({ method: 'POST', url: '/v1/edges/heartbeat', payload });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as HeartbeatResponse;
}

/** Every pair's predicted RTT from the coordinates the matchmaker shares (geography where none is stored). */
async function predictions(app: MatchmakerApp, store: MatchmakerStore, accounts: LocalAccount[]) {
  await app.matchmaker.refresh();
  const stored = await store.getCoordinates();
  const at = (i: number): NetworkCoordinate =>
    stored[(accounts[i] as LocalAccount).address.toLowerCase()] ??
    geoCoordinate((SITES[i] as (typeof SITES)[number]).lat, (SITES[i] as (typeof SITES)[number]).lon);
  const out: number[] = [];
  for (let i = 0; i < accounts.length; i++)
    for (let j = i + 1; j < accounts.length; j++) out.push(predictRtt(at(i), at(j)));
  return out;
}

const truth: number[] = [];
for (let i = 0; i < TRUE.length; i++)
  for (let j = i + 1; j < TRUE.length; j++)
    truth.push(predictRtt(TRUE[i] as NetworkCoordinate, TRUE[j] as NetworkCoordinate));

describe.each(storeKinds)('edge-to-edge anchors (%s store)', (_kind, makeStore) => {
  it('places edges that report mutual RTTs where their RTTs say', async () => {
    const { store, app, accounts } = await setUp(makeStore);
    const before = await predictions(app, store, accounts);
    // Geography alone is several ms off what the edges measure.
    expect(Math.max(...before.map((p, k) => Math.abs(p - (truth[k] as number))))).toBeGreaterThan(8);
    for (let round = 0; round < 60; round++)
      for (const [i, account] of accounts.entries()) {
        const peerRtts = accounts
          .map((peer, j) => ({
            edge: peer.address,
            rttMs: predictRtt(TRUE[i] as NetworkCoordinate, TRUE[j] as NetworkCoordinate),
          }))
          .filter((_, j) => j !== i);
        const answer = await beat(app, account, peerRtts);
        // The matchmaker names the other live edges to measure, with their URLs.
        expect(answer.peers?.map((p) => p.edgeId).sort()).toEqual(
          peerRtts.map((r) => r.edge.toLowerCase()).sort(),
        );
      }
    const after = await predictions(app, store, accounts);
    expect(Math.max(...after.map((p, k) => Math.abs(p - (truth[k] as number))))).toBeLessThanOrEqual(3);
  });

  it('ignores an edge reporting absurd RTTs', async () => {
    const { store, app, accounts } = await setUp(makeStore);
    const before = await predictions(app, store, accounts);
    const [liar, ...others] = accounts as [LocalAccount, ...LocalAccount[]];
    // 0 ms, 60 s, and 0.05 ms to an edge 1,000 km away (faster than light).
    const lies = [0, 60_000, 0.05];
    for (let round = 0; round < 30; round++)
      await beat(
        app,
        liar,
        others.map((peer, j) => ({ edge: peer.address, rttMs: lies[(round + j) % lies.length] as number })),
      );
    const after = await predictions(app, store, accounts);
    expect(Math.max(...after.map((p, k) => Math.abs(p - (before[k] as number))))).toBeLessThan(0.5);
  });

  it('refuses a heartbeat naming more than 4 peers (BAD_REQUEST)', async () => {
    const { app, accounts } = await setUp(makeStore);
    const five = Array.from({ length: 5 }, () => ({ edge: newEdgeAccount().address, rttMs: 10 }));
    const payload = await signedHeartbeat(accounts[0] as LocalAccount, { peerRtts: five });
    const r = await app.inject({ method: 'POST', url: '/v1/edges/heartbeat', payload });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('BAD_REQUEST');
  });
});
