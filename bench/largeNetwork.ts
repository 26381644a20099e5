// bench:matchmaker's large-network figure (`edges50k`) and the pieces bench/matchmaker.ts shares with it: the
// fields every bench edge registers with, percentiles, and the per-request session key address.
import { randomBytes } from 'node:crypto';
import { buildApp } from '../matchmaker/buildApp.js';
import { EdgeIndex } from '../matchmaker/EdgeIndex.js';
import { rankEdges } from '../matchmaker/rankEdges.js';
import { createMemoryStore } from '../matchmaker/store/createMemoryStore.js';
import { createRedisStore, deleteRedisPrefix } from '../matchmaker/store/createRedisStore.js';
import type { EdgeRecord, EdgeState, MatchmakerStore } from '../matchmaker/store/MatchmakerStore.js';
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

/** The stores the large-network figure runs on (`BENCH_LARGE_STORES`, default both). */
type LargeStore = 'memory' | 'redis';

/**
 * Allocation with `BENCH_EDGES_LARGE` (default 50,000) edges: the ranking's cost per call through the spatial
 * index and by scoring every edge (the same `EdgeIndex`/`rankEdges` the matchmaker uses), then per store
 * (`BENCH_LARGE_STORES`, default memory,redis) allocation latency through the matchmaker's allocation path
 * (`Matchmaker.createSession`: coordinate, ranking, reserve, token) in this process, 32 concurrent requests, no
 * HTTP; each player leaves at once (its reservation released outside the timed call), so slots stay free as in a
 * steady state. The registry refreshes every `BENCH_LARGE_REFRESH_MS` (default 500, the matchmaker's default)
 * during the load, timed here: `refreshMs.first` is the first (full) read of every edge, `refreshMs.p50/p99/max`
 * those during the load (on Redis the change feed: only edges changed since the last refresh are read;
 * `edgesReadPerRefresh`). Edges are written straight into the store (50k signed registrations would take
 * minutes of signature checks); they do not heartbeat. Players send a location hint only: the ranking decides.
 */
export async function measureLargeNetwork(
  matrix: LatencyMatrix,
  sessionPrivateKey: string,
  { seconds, clients, redisUrl }: { seconds: number; clients: number; redisUrl: string },
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
  const t = performance.now();
  const index = new EdgeIndex(states, (s) => geoCoordinate(s.edge.lat, s.edge.lon));
  const indexBuildMs = round2(performance.now() - t);
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
  const out: Record<string, unknown> = {
    edges: count,
    rankUs: { indexUs: rankUs(false), fullScanUs: rankUs(true) },
    indexBuildMs,
  };
  const stores = (process.env.BENCH_LARGE_STORES ?? 'memory,redis').split(',').filter(Boolean);
  for (const kind of stores as LargeStore[]) {
    out[kind] = await measureOnStore(kind, records, matrix, random, {
      seconds,
      clients,
      redisUrl,
      sessionPrivateKey,
    });
  }
  return out;
}

async function measureOnStore(
  kind: LargeStore,
  records: EdgeRecord[],
  matrix: LatencyMatrix,
  random: () => number,
  options: { seconds: number; clients: number; redisUrl: string; sessionPrivateKey: string },
) {
  const { seconds, clients } = options;
  const refreshEveryMs = Number(process.env.BENCH_LARGE_REFRESH_MS ?? 500);
  const keyPrefix = `farplay:bench50k:${randomBytes(4).toString('hex')}:`;
  const raw = kind === 'redis' ? createRedisStore({ url: options.redisUrl, keyPrefix }) : createMemoryStore();
  // Counts the edges each refresh reads (the change feed's size on Redis; every edge in process).
  let edgesRead = 0;
  const store: MatchmakerStore = new Proxy(raw, {
    get(target, property, receiver) {
      if (property !== 'edgeChanges') return Reflect.get(target, property, receiver);
      return async (since: string, recheck?: readonly string[]) => {
        const changes = await target.edgeChanges(since, recheck);
        edgesRead += changes.edges.length + changes.slots.length + changes.gone.length;
        return changes;
      };
    },
  });
  // Connected before the app starts: on a loaded machine a command queued while connecting can outlast the
  // store's 1.5 s command timeout, and the app's first refresh would fail.
  for (let i = 0; ; i++) {
    try {
      await store.listGames();
      break;
    } catch (error) {
      if (i >= 5) throw error;
    }
  }
  const app = await buildApp({
    store,
    config: {
      builtInGameIds: 'pong',
      sessionPrivateKey: options.sessionPrivateKey,
      logLevel: 'warn',
      refreshMs: 3_600_000, // the bench's own loop below refreshes (and times each refresh)
      edgeTtlMs: 600_000,
      reservationTtlMs: 600_000,
      maxReservationsPerClient: 0,
    },
  });
  try {
    let t = performance.now();
    for (let i = 0; i < records.length; i += 1000) {
      await Promise.all(
        records.slice(i, i + 1000).map((r) => store.putEdge(r, randomNonce(), 600_000, 120_000)),
      );
    }
    const writeMs = Math.round(performance.now() - t);
    console.error(`large network, ${kind}: ${records.length} edges written in ${writeMs} ms`);
    // What every refresh read before the change feed: every edge and every coordinate.
    t = performance.now();
    const fullRead = await Promise.all([store.listEdges(), store.getCoordinates()]).then(
      () => Math.round(performance.now() - t),
      (error: unknown) => `failed after ${Math.round(performance.now() - t)} ms: ${String(error)}`,
    );
    // The app's start (on ready) refreshes once: that read brings in all the edges written since the app was
    // built (on Redis through the change feed, in pages); it is the first refresh timed here.
    t = performance.now();
    await app.ready();
    await app.matchmaker.refresh();
    const firstRefreshMs = Math.round(performance.now() - t);
    const refreshMs: number[] = [];
    const readPerRefresh: number[] = [];
    let refreshFailures = 0;
    const allocateMs: number[] = [];
    let failures = 0;
    let failureLogged = false;
    let measuring = false;
    let stop = false;
    const refresher = (async () => {
      while (!stop) {
        await new Promise((r) => setTimeout(r, refreshEveryMs));
        if (stop) break;
        const t0 = performance.now();
        edgesRead = 0;
        try {
          await app.matchmaker.refresh();
        } catch (error) {
          if (refreshFailures++ === 0) console.error(`large network: refresh failed: ${String(error)}`);
        }
        if (measuring) {
          refreshMs.push(performance.now() - t0);
          readPerRefresh.push(edgesRead);
        }
      }
    })();
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
    await Promise.all([...loops, refresher]);
    const ok = allocateMs.length - failures;
    const figures = {
      p50: round2(percentile(allocateMs, 0.5)),
      p99: round2(percentile(allocateMs, 0.99)),
      allocPerSec: Math.round(ok / elapsed),
      failed: failures,
      cpuMsPerAllocation: round2(((cpu.user + cpu.system) / 1000 / Math.max(1, ok)) * 1000) / 1000,
      storeWriteMs: writeMs,
      listEveryEdgeMs: fullRead,
      refreshMs: {
        first: firstRefreshMs,
        everyMs: refreshEveryMs,
        count: refreshMs.length,
        p50: round2(percentile(refreshMs, 0.5)),
        p99: round2(percentile(refreshMs, 0.99)),
        max: round2(Math.max(...refreshMs)),
        failed: refreshFailures,
      },
      edgesReadPerRefresh: { p50: percentile(readPerRefresh, 0.5), max: Math.max(...readPerRefresh) },
      liveEdges: app.matchmaker.edges().length,
    };
    // Printed before the clean-up (deleting 50k edges' keys takes minutes on a loaded machine).
    console.log(`large network, ${kind}: ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await app.close();
    await store.close();
    if (kind === 'redis') await deleteRedisPrefix(options.redisUrl, keyPrefix);
  }
}
