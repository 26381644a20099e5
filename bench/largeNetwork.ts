// bench:matchmaker's large-network figure (`edges50k`) and the pieces bench/matchmaker.ts shares with it: the
// fields every bench edge registers with, percentiles, and the per-request session key address.
import { randomBytes } from 'node:crypto';
import { buildApp } from '../matchmaker/buildApp.js';
import { EdgeIndex } from '../matchmaker/EdgeIndex.js';
import { rankEdges } from '../matchmaker/rankEdges.js';
import { createMemoryStore } from '../matchmaker/store/createMemoryStore.js';
import type { EdgeRecord, EdgeState } from '../matchmaker/store/MatchmakerStore.js';
import { randomNonce } from '../protocol/edgeRegistration.js';
import { geoCoordinate } from '../protocol/networkCoordinates.js';
import { PONG } from '../test/tools/FakeEdge.js';
import { type LatencyMatrix, seededRandom } from './evaluateCoordinates.js';

/** What bench edge `i` registers with besides its identity and place: 200 slots, Pong, one of 7 prices. */
export function benchEdgeFields(i: number) {
  return {
    gpu: 'bench',
    encoders: ['libx264'],
    capacity: 200,
    pricePerMinute: String(1_000_000_000_000_000 + (i % 7) * 100_000_000_000_000),
    version: 'bench',
    publicUrl: `http://edge${i}.bench.invalid:8443`,
    games: [{ ...PONG, input: [...PONG.input] }],
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * A session key address for one request (matchmakers require one). These sessions never act on
 * themselves, so a random address stands in for a real key (no key derivation in the load generator).
 */
export const sessionKeyAddress = () => `0x${randomBytes(20).toString('hex')}`;

/**
 * Allocation with `BENCH_EDGES_LARGE` (default 50,000) edges: the ranking's cost per call through the spatial
 * index and by scoring every edge (the same `EdgeIndex`/`rankEdges` the matchmaker uses), and allocation
 * latency through the matchmaker's allocation path (`Matchmaker.createSession`: coordinate, ranking, reserve,
 * token) in this process on the in-process store, 32 concurrent requests, no HTTP; each player leaves at once
 * (its reservation released outside the timed call), so slots stay free as in a steady state. Edges are written straight
 * into the store (50k signed registrations would take minutes of signature checks); on Redis the registry
 * refresh of 50k edges (one pipeline of 150k reads) outlasts the store's 1.5 s command timeout on this
 * machine, so that part is not measured here. Players send a location hint only: the ranking decides.
 */
export async function measureLargeNetwork(
  matrix: LatencyMatrix,
  sessionPrivateKey: string,
  { seconds, clients }: { seconds: number; clients: number },
) {
  const count = Number(process.env.BENCH_EDGES_LARGE ?? 50_000);
  const random = seededRandom(11);
  const records: EdgeRecord[] = Array.from({ length: count }, (_, i) => {
    const geo = matrix.geo?.[i % matrix.n] ?? { lat: 0, lon: 0 };
    const id = `0x${i.toString(16).padStart(40, '0')}`;
    return {
      id,
      region: `metro-${i % 97}`,
      lat: Math.max(-85, Math.min(85, geo.lat + (random() - 0.5) * 2)),
      lon: Math.max(-179.9, Math.min(179.9, geo.lon + (random() - 0.5) * 2)),
      ...benchEdgeFields(i),
      registeredAt: Date.now(),
    };
  });
  // The ranking alone: µs per call, through the index and scoring every edge, from 2,000 player positions.
  const states: EdgeState[] = records.map((edge) => ({ edge, load: null, usedSlots: 0 }));
  const index = new EdgeIndex(states, (s) => geoCoordinate(s.edge.lat, s.edge.lon));
  const players = Array.from({ length: 2000 }, () => {
    const geo = matrix.geo?.[Math.floor(random() * matrix.n)] ?? { lat: 0, lon: 0 };
    return geoCoordinate(geo.lat, geo.lon);
  });
  const rankUs = (fullScan: boolean) => {
    const t = performance.now();
    for (const player of players) {
      rankEdges(index, { mask: null, measured: new Map(), player, take: 8, random: Math.random, fullScan });
    }
    return round2(((performance.now() - t) * 1000) / players.length);
  };
  rankUs(false);
  const rank = { indexUs: rankUs(false), fullScanUs: rankUs(true) };

  const store = createMemoryStore();
  const app = await buildApp({
    store,
    config: {
      builtInGameIds: 'pong',
      sessionPrivateKey,
      logLevel: 'warn',
      refreshMs: 5000,
      edgeTtlMs: 600_000,
      reservationTtlMs: 600_000,
      maxReservationsPerClient: 0,
    },
  });
  try {
    let t = performance.now();
    for (const r of records) await store.putEdge(r, randomNonce(), 600_000, 120_000);
    await app.ready();
    await app.matchmaker.refresh();
    const refreshMs = Math.round(performance.now() - t);
    const allocateMs: number[] = [];
    let failures = 0;
    let failureLogged = false;
    let measuring = false;
    let stop = false;
    const loops = Array.from({ length: clients }, async () => {
      while (!stop) {
        const geo = matrix.geo?.[Math.floor(random() * matrix.n)] ?? { lat: 0, lon: 0 };
        const t0 = performance.now();
        let t1 = Number.NaN;
        let ok = true;
        try {
          const session = await app.matchmaker.createSession({
            gameId: 'pong',
            lat: geo.lat,
            lon: geo.lon,
            measurements: [],
            sessionKey: sessionKeyAddress(),
          });
          // The player leaves at once (outside the timed call): slots stay free, as on a network in steady
          // state, instead of 32 clients filling every edge near the matrix's players within seconds.
          t1 = performance.now();
          await store.release(session.sessionId);
        } catch (error) {
          if (!failureLogged) console.error(`large network: allocation failed: ${String(error)}`);
          failureLogged = true;
          ok = false;
        }
        // The in-process store answers in microtasks: yield to the event loop (outside the timed call) so the
        // window's timer can fire.
        await new Promise((r) => setImmediate(r));
        if (!measuring) continue;
        allocateMs.push((Number.isNaN(t1) ? performance.now() : t1) - t0);
        if (!ok) failures++;
      }
    });
    await new Promise((r) => setTimeout(r, 1000));
    measuring = true;
    t = performance.now();
    const cpu0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    const elapsed = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    stop = true;
    await Promise.all(loops);
    const ok = allocateMs.length - failures;
    return {
      edges: count,
      p50: round2(percentile(allocateMs, 0.5)),
      p99: round2(percentile(allocateMs, 0.99)),
      allocPerSec: Math.round(ok / elapsed),
      failed: failures,
      cpuMsPerAllocation: round2(((cpu.user + cpu.system) / 1000 / Math.max(1, ok)) * 1000) / 1000,
      rankUs: rank,
      registryRefreshMs: refreshMs,
    };
  } finally {
    await app.close();
    await store.close();
  }
}
