// `npm run bench:matchmaker`: 1,000 registered edges, concurrent HTTP clients asking for candidates and
// sessions (phase 1: candidates → session; phase 2: allocations alone, replaying phase 1's measurements —
// allocationsPerSec/allocateMs come from phase 2), against Redis and the in-process store; then coordinate
// prediction error and allocation regret through the real path (`regret`, bench/allocationRegret.ts) on a
// synthetic matrix (1,200 nodes) and a measured one such as PlanetLab-490 (path in FARPLAY_RTT_MATRIX).
// Set-up, fair for 2 cores: the matchmaker runs as its own process (`matchmaker/main.ts`); this one only
// generates load: one keep-alive HTTP/1.1 connection per client loop, one request at a time, through a
// minimal client (`Connection`; node:http costs 0.08–0.14 ms CPU per allocation, taken from the server's
// share). `cpuMsPerAllocation` (server, client) stays comparable when other work shares the machine.
// Env: BENCH_SECONDS (default 5), BENCH_CLIENTS (default 32), BENCH_EDGES (default 1000),
// FARPLAY_BENCH_REDIS_URL (default redis://127.0.0.1:6379/15), BENCH_NODE_ARGS (extra node flags for the
// matchmaker process, e.g. --cpu-prof), BENCH_STORES (default redis,memory), BENCH_REDIS_INSTANCES
// (matchmaker processes on the Redis store, client connections spread over them; default 1),
// BENCH_COORDINATES=0 (store figures only, skip the coordinate evaluation), BENCH_HEARTBEAT_MS (default 2000,
// the matchmaker's heartbeat period: every edge sends a signed heartbeat that often through both phases;
// 0 = none), BENCH_EDGES_LARGE (default 50000: the `edges50k` figure, allocation on a large network; 0 = skip).
// Last line: one JSON object.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { signDigest } from '../checker/signDigest.js';
import { buildApp } from '../matchmaker/buildApp.js';
import { EdgeIndex } from '../matchmaker/EdgeIndex.js';
import { rankEdges } from '../matchmaker/rankEdges.js';
import { createMemoryStore } from '../matchmaker/store/createMemoryStore.js';
import { deleteRedisPrefix } from '../matchmaker/store/createRedisStore.js';
import type { EdgeRecord, EdgeState } from '../matchmaker/store/MatchmakerStore.js';
import { deploymentOf } from '../protocol/deployment.js';
import {
  type EdgeHeartbeatPayload,
  type EdgeRegistrationPayload,
  edgeMessageDigest,
  randomNonce,
  signEdgeMessage,
} from '../protocol/edgeRegistration.js';
import { geoCoordinate } from '../protocol/networkCoordinates.js';
import { generateSessionKeyPair } from '../protocol/sessionToken.js';
import { PONG } from '../test/tools/FakeEdge.js';
import { measureRegret } from './allocationRegret.js';
import {
  evaluateAllocation,
  evaluateVivaldi,
  type LatencyMatrix,
  parseMatrix,
  rttOf,
  seededRandom,
  syntheticMatrix,
} from './evaluateCoordinates.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const clients = Number(process.env.BENCH_CLIENTS ?? 32);
const edgeCount = Number(process.env.BENCH_EDGES ?? 1000);
/** Matchmaker processes sharing the Redis store (the in-process store is one process by nature). */
const redisInstances = Number(process.env.BENCH_REDIS_INSTANCES ?? 1);
const redisUrl = process.env.FARPLAY_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
/** Every edge heartbeats this often during the load (the matchmaker's default period); 0 = no heartbeats. */
const heartbeatMs = Number(process.env.BENCH_HEARTBEAT_MS ?? 2000);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: clients + 8 });

function call(
  port: number,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (payload) req.end(payload);
    else req.end();
  });
}

/**
 * The load generator's HTTP/1.1 client: one keep-alive connection per client loop, one request at a
 * time (no pipelining), requests written as one buffer and responses parsed by status line and
 * content-length only. node:http's client costs about as much CPU per request as the matchmaker does,
 * and on a 2-core machine every µs the load generator burns is taken from the server's share — the
 * fair set-up measures the server, not the client library (same reason wrk/autocannon exist).
 */
class Connection {
  readonly #socket: Socket;
  readonly #head: string;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (r: { status: number; body: Buffer }) => void; reject: (e: Error) => void } | null =
    null;
  #error: Error | null = null;

  constructor(port: number) {
    this.#head = `Host: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n`;
    this.#socket = connect({ host: '127.0.0.1', port, noDelay: true });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const fail = (error: Error) => {
      this.#error = error;
      this.#waiting?.reject(error);
      this.#waiting = null;
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed')));
  }

  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: Buffer }> {
    if (this.#error) return Promise.reject(this.#error);
    const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    const head = `${method} ${path} HTTP/1.1\r\n${this.#head}${
      payload ? `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n` : ''
    }\r\n`;
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(head + payload);
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.#buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      this.#socket.destroy(new Error(`response without content-length: ${head.slice(0, 200)}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.#buffer.length < total) return;
    const body = this.#buffer.subarray(end + 4, total);
    this.#buffer = this.#buffer.subarray(total);
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.resolve({ status: Number(head.slice(9, 12)), body });
  }

  close(): void {
    this.#socket.destroy();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function startServer(
  store: 'redis' | 'memory',
  keyPrefix: string,
  sessionPrivateKey: string,
  env: Record<string, string> = {},
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', join(root, 'matchmaker/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      FARPLAY_MM_PORT: String(port),
      FARPLAY_MM_LOG_LEVEL: 'warn',
      FARPLAY_MM_BUILT_IN_GAME_IDS: 'pong',
      FARPLAY_MM_REDIS_URL: store === 'redis' ? redisUrl : '',
      FARPLAY_MM_KEY_PREFIX: keyPrefix,
      FARPLAY_MM_SESSION_PRIVATE_KEY: sessionPrivateKey,
      FARPLAY_MM_RATE_LIMIT_MAX: '1000000000',
      // No heartbeats in the bench: edges stay live for its whole run.
      FARPLAY_MM_EDGE_TTL_MS: '600000',
      FARPLAY_MM_RESERVATION_TTL_MS: '600000',
      // Every simulated player comes from 127.0.0.1: no per-address cap (the per-key one stays, each
      // request names its own key).
      FARPLAY_MM_MAX_RESERVATIONS_PER_CLIENT: '0',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Up to 60 s: tsx compiles the matchmaker at start, slow on a busy machine.
  for (let i = 0; i < 600; i++) {
    try {
      if ((await call(port, 'GET', '/v1/matchmaker')).status === 200) return { port, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error('matchmaker did not start');
}

/** SIGTERM and wait for the exit; a process that already exited (crashed) is not waited for. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

interface Edge {
  id: string;
  node: number;
}

async function registerEdges(
  port: number,
  count: number,
  sign: (i: number) => Promise<{ payload: EdgeRegistrationPayload; signature: string }>,
) {
  let next = 0;
  // Each registration is signed just before it is sent: on a busy machine registering 1,000 edges can
  // outlast the 60 s freshness window.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const r = await sign(next++);
        const res = await call(port, 'POST', '/v1/edges/register', r);
        if (res.status !== 200) throw new Error(`registration failed: ${JSON.stringify(res.json)}`);
      }
    }),
  );
}

/**
 * Keeps every edge heartbeating once per `heartbeatMs` (spread evenly over the period) until `stop()`, over
 * 8 connections. Heartbeats are signed a round ahead (libsecp256k1 over the EIP-712 digest, ~0.1–0.2 ms
 * each, counted in the client's CPU figure) and stamped with the time they are due.
 */
function startHeartbeats(
  port: number,
  keys: { edge: string; privateKey: Uint8Array }[],
  deployment: string,
  durationMs: number,
): { stop(): Promise<{ sent: number; failed: number; lateMsP99: number }> } {
  if (heartbeatMs <= 0 || keys.length === 0) {
    return { stop: async () => ({ sent: 0, failed: 0, lateMsP99: 0 }) };
  }
  const rounds = Math.ceil(durationMs / heartbeatMs) + 1;
  const bodies: string[] = [];
  const gap = heartbeatMs / keys.length;
  let stopped = false;
  const sign = (r: number, k: number, issuedAt: number) => {
    const { edge, privateKey } = keys[k] as { edge: string; privateKey: Uint8Array };
    const payload: EdgeHeartbeatPayload = {
      edge,
      activeSessions: 0,
      freeSlots: 200,
      encodeHeadroom: 4,
      activeSessionIds: [],
      activeSessionOwners: [],
      issuedAt,
      nonce: randomNonce(),
      deployment,
    };
    const signature = signDigest(privateKey, hexToBytes(edgeMessageDigest('EdgeHeartbeat', payload)));
    bodies[r * keys.length + k] = JSON.stringify({ payload, signature });
  };
  // Round 0 is signed before the start, each later round while the one before it is sent (stamped with
  // the time it is due, so every heartbeat is fresh for the server's ±60 s window however busy the machine).
  const start = performance.now() + 500;
  const wallStart = Date.now() + 500;
  for (let k = 0; k < keys.length; k++) sign(0, k, Math.round(wallStart + k * gap));
  const signer = (async () => {
    for (let r = 1; r < rounds && !stopped; r++) {
      for (let k = 0; k < keys.length && !stopped; k++) {
        sign(r, k, Math.round(wallStart + (r * keys.length + k) * gap));
        if (k % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
      }
    }
  })();
  let next = 0;
  let sent = 0;
  let failed = 0;
  const late: number[] = [];
  const loops = Array.from({ length: 8 }, async () => {
    const connection = new Connection(port);
    try {
      while (!stopped && next < rounds * keys.length) {
        const i = next++;
        while (bodies[i] === undefined && !stopped) await new Promise((r) => setTimeout(r, 5));
        const due = start + i * gap;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        else late.push(-wait);
        if (stopped) break;
        const res = await connection.request('POST', '/v1/edges/heartbeat', bodies[i]);
        sent++;
        if (res.status !== 200 && failed++ === 0) console.error(`heartbeat ${res.status}: ${res.body}`);
      }
    } finally {
      connection.close();
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all([...loops, signer]);
      return { sent, failed, lateMsP99: round2(late.length > 0 ? percentile(late, 0.99) : 0) };
    },
  };
}

interface Measured {
  measurements: { edgeId: string; rttMs: number }[];
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return Number.NaN;
  }
}
/** The matchmaker processes of the current run, and the CPU the last timed window cost (ms). */
let serverPids: number[] = [];
let lastCpu = { serverMs: 0, clientMs: 0 };

/** Runs `worker` on `clients` concurrent loops for `seconds` after a 1 s warm-up; returns the count and rate. */
async function timed(
  ports: number[],
  worker: (connection: Connection, measuring: () => boolean) => Promise<void>,
): Promise<number> {
  let measuring = false;
  let stop = false;
  // Each loop keeps one connection; loops spread over the matchmaker instances (a load balancer).
  const loops = Array.from({ length: clients }, async (_, i) => {
    const connection = new Connection(ports[i % ports.length] as number);
    try {
      while (!stop) await worker(connection, () => measuring);
    } finally {
      connection.close();
    }
  });
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const started = performance.now();
  const server0 = serverPids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
  const client0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const client = process.cpuUsage(client0);
  lastCpu = {
    serverMs: serverPids.reduce((sum, pid) => sum + cpuMsOf(pid), 0) - server0,
    clientMs: (client.user + client.system) / 1000,
  };
  stop = true;
  await Promise.all(loops);
  return elapsed;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * A session key address for one request (matchmakers require one). These sessions never act on
 * themselves, so a random address stands in for a real key (no key derivation in the load generator).
 */
const sessionKeyAddress = () => `0x${randomBytes(20).toString('hex')}`;

/**
 * Phase 1, the player flow: candidates (with a location hint) → 5 measurements from the matrix →
 * session. Phase 2, allocation alone: sessions with the measurements players sent in phase 1.
 */
async function runLoad(ports: number[], matrix: LatencyMatrix, edges: Edge[], players: number[]) {
  const byId = new Map(edges.map((e) => [e.id, e]));
  const random = seededRandom(5);
  const flow = { candidatesMs: [] as number[], sessionMs: [] as number[], failures: 0 };
  const seen: Measured[] = [];
  const flowSeconds = await timed(ports, async (connection, measuring) => {
    const player = players[Math.floor(random() * players.length)] as number;
    const geo = matrix.geo?.[player] ?? { lat: 0, lon: 0 };
    let t = performance.now();
    const c = await connection.request('POST', '/v1/candidates', {
      gameId: 'pong',
      lat: geo.lat,
      lon: geo.lon,
      limit: 5,
    });
    const candidatesMs = performance.now() - t;
    const listed =
      c.status === 200 ? (JSON.parse(c.body.toString('utf8')) as { candidates?: { edgeId: string }[] }) : {};
    const candidates = (listed.candidates ?? []).map((x) => x.edgeId);
    const measurements = candidates.map((edgeId) => ({
      edgeId,
      rttMs: Math.round(rttOf(matrix, player, byId.get(edgeId)?.node ?? 0) * 10) / 10,
    }));
    t = performance.now();
    const s = await connection.request('POST', '/v1/sessions', {
      gameId: 'pong',
      measurements,
      sessionKey: sessionKeyAddress(),
    });
    if (!measuring()) return;
    flow.candidatesMs.push(candidatesMs);
    flow.sessionMs.push(performance.now() - t);
    if (s.status !== 200) flow.failures++;
    if (seen.length < 20_000) seen.push({ measurements });
  });
  const allocateMs: number[] = [];
  let failures = 0;
  let next = 0;
  const allocSeconds = await timed(ports, async (connection, measuring) => {
    const m = seen[next++ % seen.length] as Measured;
    const t = performance.now();
    const s = await connection.request('POST', '/v1/sessions', {
      gameId: 'pong',
      measurements: m.measurements,
      sessionKey: sessionKeyAddress(),
    });
    if (!measuring()) return;
    allocateMs.push(performance.now() - t);
    if (s.status !== 200) failures++;
  });
  const allocationsCpu = lastCpu;
  const ok = allocateMs.length - failures;
  return {
    allocationsPerSec: Math.round(ok / allocSeconds),
    // CPU per allocation (ms): the matchmaker process(es) and this load generator. Stable under a
    // busy machine where the rate is not: other processes take cores, not CPU time per request.
    cpuMsPerAllocation: {
      server: round2((allocationsCpu.serverMs / Math.max(1, ok)) * 1000) / 1000,
      client: round2((allocationsCpu.clientMs / Math.max(1, ok)) * 1000) / 1000,
    },
    allocateMs: { p50: round2(percentile(allocateMs, 0.5)), p99: round2(percentile(allocateMs, 0.99)) },
    failedAllocations: failures,
    playerFlow: {
      flowsPerSec: Math.round(flow.sessionMs.length / flowSeconds),
      candidatesMs: {
        p50: round2(percentile(flow.candidatesMs, 0.5)),
        p99: round2(percentile(flow.candidatesMs, 0.99)),
      },
      sessionMs: {
        p50: round2(percentile(flow.sessionMs, 0.5)),
        p99: round2(percentile(flow.sessionMs, 0.99)),
      },
      failed: flow.failures,
    },
  };
}

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
async function measureLargeNetwork(matrix: LatencyMatrix, sessionPrivateKey: string) {
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
      gpu: 'bench',
      encoders: ['libx264'],
      capacity: 200,
      pricePerMinute: String(1_000_000_000_000_000 + (i % 7) * 100_000_000_000_000),
      version: 'bench',
      publicUrl: `http://edge${i}.bench.invalid:8443`,
      games: [{ ...PONG, input: [...PONG.input] }],
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

async function main(): Promise<void> {
  const matrix = syntheticMatrix(1200, 1);
  const edgeNodes = Array.from({ length: edgeCount }, (_, i) => i % matrix.n);
  const players = Array.from({ length: matrix.n }, (_, i) => i);
  const edges: Edge[] = [];
  const edgeKeys: { edge: string; privateKey: Uint8Array }[] = [];
  const accounts = edgeNodes.map((node) => {
    const privateKey = generatePrivateKey();
    const account = privateKeyToAccount(privateKey);
    edges.push({ id: account.address.toLowerCase(), node });
    edgeKeys.push({ edge: account.address, privateKey: hexToBytes(privateKey) });
    return account;
  });
  const sessionKeys = generateSessionKeyPair();
  const deployment = deploymentOf(sessionKeys.publicKey);
  const signRegistration = async (i: number) => {
    const node = edgeNodes[i] as number;
    const account = accounts[i] as (typeof accounts)[number];
    const geo = matrix.geo?.[node] ?? { lat: 0, lon: 0 };
    const payload: EdgeRegistrationPayload = {
      edge: account.address,
      region: `metro-${Math.round(geo.lat / 10)}-${Math.round(geo.lon / 10)}`
        .replace(/--/g, '-m')
        .replace(/[^a-z0-9-]/g, ''),
      lat: geo.lat,
      lon: geo.lon,
      gpu: 'bench',
      encoders: ['libx264'],
      capacity: 200,
      pricePerMinute: String(1_000_000_000_000_000 + (i % 7) * 100_000_000_000_000),
      version: 'bench',
      publicUrl: `http://edge${i}.bench.invalid:8443`,
      games: [{ ...PONG, input: [...PONG.input] }],
      issuedAt: Date.now(),
      nonce: randomNonce(),
      deployment,
    };
    return { payload, signature: await signEdgeMessage(account, 'EdgeRegistration', payload) };
  };

  const out: Record<string, unknown> = {};
  const stores = (process.env.BENCH_STORES ?? 'redis,memory').split(',').filter(Boolean) as (
    | 'redis'
    | 'memory'
  )[];
  for (const store of stores) {
    const keyPrefix = `farplay:bench:${randomBytes(4).toString('hex')}:`;
    const instances = store === 'redis' ? redisInstances : 1;
    const sessionPrivateKey = sessionKeys.privateKey;
    const servers = await Promise.all(
      Array.from({ length: instances }, () => startServer(store, keyPrefix, sessionPrivateKey)),
    );
    const port = (servers[0] as { port: number }).port;
    try {
      let t = performance.now();
      await registerEdges(port, edgeCount, signRegistration);
      console.log(`${store}: registered ${edgeCount} edges in ${Math.round(performance.now() - t)} ms`);
      await new Promise((r) => setTimeout(r, 700)); // one registry refresh
      t = performance.now();
      serverPids = servers.map((x) => x.child.pid ?? 0);
      // Edges heartbeat through both phases (each phase: 1 s warm-up + BENCH_SECONDS), as live edges do.
      const heartbeats = startHeartbeats(port, edgeKeys, deployment, 2 * (seconds + 1) * 1000 + 5000);
      const load = await runLoad(
        servers.map((x) => x.port),
        matrix,
        edges,
        players,
      );
      const figures = {
        instances,
        ...load,
        heartbeats: { periodMs: heartbeatMs, ...(await heartbeats.stop()) },
      };
      console.log(`${store}: ${JSON.stringify(figures)}`);
      out[store] = figures;
    } finally {
      for (const { child } of servers) await stopChild(child);
      if (store === 'redis') await deleteRedisPrefix(redisUrl, keyPrefix);
    }
  }
  if (process.env.BENCH_EDGES_LARGE !== '0') {
    out.edges50k = await measureLargeNetwork(matrix, sessionKeys.privateKey);
    console.log(`large network: ${JSON.stringify(out.edges50k)}`);
  }
  agent.destroy();
  if (process.env.BENCH_COORDINATES === '0') {
    // Store figures only (A/B runs of the allocation path): skip the coordinate evaluation.
    console.log(JSON.stringify(out));
    return;
  }

  // Allocation regret through the real path (bench/allocationRegret.ts): today's one round vs two rounds.
  out.regret = { synthetic: await measureRegret(syntheticMatrix(1200, 1), { edges: 50, players: 400 }) };
  const synthetic = evaluateAllocation(matrix, { edges: 200 });
  const syntheticVivaldi = evaluateVivaldi(matrix, { rounds: 600 });
  console.log(
    `synthetic (1200 nodes): allocation flow ${JSON.stringify(synthetic)}; plain Vivaldi ${JSON.stringify(syntheticVivaldi)}`,
  );
  out.predictionErrorMs = { p50: synthetic.prediction.p50, p90: synthetic.prediction.p90 };
  out.predictionDetail = { allocationFlow: synthetic, plainVivaldiHeldOutPairs: syntheticVivaldi };

  // A measured RTT matrix (tab-separated square matrix, ms), given by path in FARPLAY_RTT_MATRIX.
  const planetlab = process.env.FARPLAY_RTT_MATRIX ?? '';
  if (planetlab !== '' && existsSync(planetlab)) {
    const pl = parseMatrix(readFileSync(planetlab, 'utf8'));
    const vivaldi = evaluateVivaldi(pl, { rounds: 400 });
    const allocation = await measureRegret(pl, { edges: 50 });
    (out.regret as Record<string, unknown>).planetlab = allocation;
    console.log(
      `planetlab (490 nodes): Vivaldi held-out ${JSON.stringify(vivaldi)}; allocation ${JSON.stringify(allocation)}`,
    );
    out.planetlabPredictionErrorMs = {
      p50: vivaldi.p50,
      p90: vivaldi.p90,
      relP50: vivaldi.relP50,
      relP90: vivaldi.relP90,
    };
  } else {
    console.log(`planetlab matrix not found at ${planetlab}; skipped`);
  }
  console.log(JSON.stringify(out));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
