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
// the matchmaker's heartbeat period: every edge heartbeats that often through both phases, as edge/control does
// (bench/benchHeartbeats.ts); 0 = none), BENCH_EDGES_LARGE (default 50000: the `edges50k` figure, allocation on a large network; 0 = skip),
// BENCH_LARGE_STORES (default memory,redis: the stores `edges50k` runs on), BENCH_LARGE_REFRESH_MS (default 500).
// Last line: one JSON object.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { deleteRedisPrefix } from '../matchmaker/store/createRedisStore.js';
import { deploymentOf } from '../protocol/deployment.js';
import { type EdgeRegistrationPayload, randomNonce, signEdgeMessage } from '../protocol/edgeRegistration.js';
import { generateSessionKeyPair } from '../protocol/sessionToken.js';
import { freePort } from '../test/support/freePort.js';
import { measureRegret } from './allocationRegret.js';
import { Connection } from './benchConnection.js';
import { startHeartbeats } from './benchHeartbeats.js';
import {
  evaluateAllocation,
  evaluateVivaldi,
  type LatencyMatrix,
  parseMatrix,
  rttOf,
  seededRandom,
  syntheticMatrix,
} from './evaluateCoordinates.js';
import {
  benchEdgeFields,
  measureLargeNetwork,
  percentile,
  round2,
  sessionKeyAddress,
} from './largeNetwork.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const clients = Number(process.env.BENCH_CLIENTS ?? 32);
const edgeCount = Number(process.env.BENCH_EDGES ?? 1000);
/** Matchmaker processes sharing the Redis store (the in-process store is one process by nature). */
const redisInstances = Number(process.env.BENCH_REDIS_INSTANCES ?? 1);
const redisUrl = process.env.FARPLAY_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
/** Every edge heartbeats this often during the load (the matchmaker's default period); 0 = no heartbeats. */
const heartbeatMs = Number(process.env.BENCH_HEARTBEAT_MS ?? 2000);

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
      // Edges heartbeat through the load (BENCH_HEARTBEAT_MS); the TTL is raised so that registering 1,000
      // edges one by one (up to a minute on a busy machine, before the first heartbeat) does not outlast it.
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
/** Heartbeats answered so far (bench/benchHeartbeats.ts), and how many the last timed window saw. */
let heartbeatsSent: () => number = () => 0;
let lastHeartbeats = 0;

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
  const heartbeats0 = heartbeatsSent();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  lastHeartbeats = heartbeatsSent() - heartbeats0;
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
    // Heartbeats the matchmaker answered during the allocation window (1,000 edges every 2 s: ~500/s).
    heartbeatsPerSec: Math.round(lastHeartbeats / allocSeconds),
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
  const byId = new Map(edges.map((e) => [e.id, e]));
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
      ...benchEdgeFields(i),
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
      // Edges heartbeat through both phases, as live edges do (bench/benchHeartbeats.ts).
      const heartbeats = startHeartbeats({
        heartbeatMs,
        ports: servers.map((x) => x.port),
        keys: edgeKeys,
        deployment,
        peerRtt: (k, peerId) => {
          const peer = byId.get(peerId.toLowerCase());
          return peer ? rttOf(matrix, (edges[k] as Edge).node, peer.node) : undefined;
        },
      });
      heartbeatsSent = heartbeats.sent;
      const load = await runLoad(
        servers.map((x) => x.port),
        matrix,
        edges,
        players,
      );
      const figures = {
        instances,
        ...load,
        heartbeats: await heartbeats.stop(),
      };
      console.log(`${store}: ${JSON.stringify(figures)}`);
      out[store] = figures;
    } finally {
      for (const { child } of servers) await stopChild(child);
      if (store === 'redis') await deleteRedisPrefix(redisUrl, keyPrefix);
    }
  }
  if (process.env.BENCH_EDGES_LARGE !== '0') {
    out.edges50k = await measureLargeNetwork(matrix, sessionKeys.privateKey, { seconds, clients, redisUrl });
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
