import { randomBytes } from 'node:crypto';
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from 'viem/accounts';
import { buildApp, type MatchmakerApp } from '../matchmaker/buildApp.js';
import { createMemoryStore } from '../matchmaker/store/createMemoryStore.js';
import type { MatchmakerStore } from '../matchmaker/store/MatchmakerStore.js';
import { deploymentOf } from '../protocol/deployment.js';
import {
  type EdgeHeartbeatPayload,
  type EdgeRegistrationPayload,
  randomNonce,
  signEdgeMessage,
} from '../protocol/edgeRegistration.js';
import {
  geoCoordinate,
  type NetworkCoordinate,
  originCoordinate,
  vivaldiUpdate,
} from '../protocol/networkCoordinates.js';
import type { Candidate, CreateSessionResponse, RttMeasurement } from '../protocol/playerApi.js';
import {
  PROBE_RTTS,
  type ProbeCutoff,
  type ProbeEdgesResult,
  probeEdges,
  roundEndsAt,
} from '../protocol/probeEdges.js';
import { generateSessionKeyPair } from '../protocol/sessionToken.js';
import { PONG } from '../test/tools/FakeEdge.js';
import { type LatencyMatrix, rttOf, seededRandom } from './evaluateCoordinates.js';

/**
 * Allocation regret through the matchmaker's real allocation path: a `Matchmaker` (`buildApp`, in-process
 * store) with `edges` nodes of a latency matrix registered as signed edges, every other node a player that
 * does what the page does — `POST /v1/candidates`, probes (answered from the matrix), `POST /v1/sessions` —
 * and the regret of the answer: the allocated edge's true RTT minus the best edge's. Strategies: `today`
 * (one round of 5 candidates, the page before two-round probing) and `twoRounds` (protocol/probeEdges.ts,
 * the page's path now), each for cold players and, for `twoRounds`, warm ones (what their cold session left:
 * the fitted coordinate, the best 2 edges and the RTTs measured). The edges first measure each other through
 * their signed heartbeats (the peer RTTs the matchmaker ranks round 2 with). Probing time is simulated
 * (`simulateRound`): a probe takes PROBE_RTTS × its RTT (the page's one GET on a new connection: set-up + the
 * timed request; protocol/probeEdges.ts); a round
 * lasts until its last answer or until the pending probes are slower than the best edge known.
 * `probedRegretMs`: the best probed edge's RTT minus the best edge's (the oracle's regret on the same
 * probes: `regretMs` above it is the allocation's own choice).
 */
export interface RegretFigures {
  players: number;
  edges: number;
  today: { regretMs: Percentiles; probes: number };
  cold: { regretMs: Percentiles; probes: Percentiles; probeMs: Percentiles };
  warm: { regretMs: Percentiles; probes: Percentiles; probeMs: Percentiles };
}

interface Percentiles {
  p50: number;
  p90: number;
}

/** Heartbeats per edge that report peer RTTs (4 peers each: ~98 % of the 50-edge pairs covered). */
const PEER_HEARTBEATS = 20;

/**
 * One simulated probe round as the page's `measureRtt` runs it: all in parallel, probe i answering after
 * PROBE_RTTS × its RTT; the round stops once `cutoff.minAnswers` answered and the pending ones are slower
 * than a probe to the best edge known (`roundEndsAt`, the page's rule). The answers and the round's wall time.
 */
export function simulateRound(
  measured: readonly RttMeasurement[],
  cutoff: ProbeCutoff,
): { answered: RttMeasurement[]; ms: number } {
  const order = [...measured].sort((a, b) => a.rttMs - b.rttMs);
  const answered: RttMeasurement[] = [];
  let best = cutoff.bestMs;
  let last = 0;
  for (const m of order) {
    const at = PROBE_RTTS * m.rttMs;
    if (answered.length >= cutoff.minAnswers) {
      const deadline = roundEndsAt(best, PROBE_RTTS);
      if (at > deadline) return { answered, ms: Math.max(last, deadline) };
    }
    answered.push(m);
    best = Math.min(best, m.rttMs);
    last = at;
  }
  return { answered, ms: last };
}

function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
  return { p50: Math.round(at(0.5) * 10) / 10, p90: Math.round(at(0.9) * 10) / 10 };
}

/** Edge coordinates from the edges' RTTs to each other (a matrix without locations has no geography). */
function meshCoordinates(m: LatencyMatrix, edges: number[], random: () => number): NetworkCoordinate[] {
  const coords = edges.map(() => originCoordinate());
  for (let r = 0; r < 2000; r++) {
    edges.forEach((e, i) => {
      const j = Math.floor(random() * edges.length);
      if (j !== i) {
        const cc = 0.25 * (1 - r / 2000) + 0.02;
        vivaldiUpdate(
          coords[i] as NetworkCoordinate,
          coords[j] as NetworkCoordinate,
          rttOf(m, e, edges[j] as number),
          { cc },
          random,
        );
      }
    });
  }
  return coords;
}

/** A region label from a coordinate: the octant around the edges' centre (matrices without geography). */
function octant(c: NetworkCoordinate, centre: number[]): string {
  return `oct-${c.v.map((x, d) => (x >= (centre[d] ?? 0) ? 'p' : 'n')).join('')}`;
}

/** A time-zone-like hint: the player's location rounded to 15° (what the page's time zone gives, roughly). */
function coarse(geo: { lat: number; lon: number }): { lat: number; lon: number } {
  return {
    lat: Math.round(geo.lat / 15) * 15,
    lon: Math.max(-180, Math.min(180, Math.round(geo.lon / 15) * 15)),
  };
}

export async function measureRegret(
  m: LatencyMatrix,
  options: { edges?: number; players?: number; seed?: number } = {},
): Promise<RegretFigures> {
  const random = seededRandom(options.seed ?? 11);
  const order = Array.from({ length: m.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const edges = order.slice(0, options.edges ?? 50);
  const players = order.slice(edges.length).slice(0, options.players ?? 500);
  const store = createMemoryStore();
  const sessionKeys = generateSessionKeyPair();
  const app = await buildApp({
    store,
    config: {
      logLevel: 'silent',
      sessionPrivateKey: sessionKeys.privateKey,
      builtInGameIds: 'pong',
      rateLimitMax: 1_000_000_000,
      maxReservationsPerClient: 0,
      maxEdgeCapacity: 10_000,
      reservationTtlMs: 3_600_000,
      edgeTtlMs: 3_600_000,
      refreshMs: 3_600_000,
    },
  });
  try {
    const ids = await registerEdges(app, store, m, edges, random, deploymentOf(sessionKeys.publicKey));
    const nodeOf = new Map(ids.map((id, i) => [id, edges[i] as number]));
    const figures = await runPlayers(app, m, players, edges, nodeOf);
    return { players: players.length, edges: edges.length, ...figures };
  } finally {
    await app.close();
    await store.close();
  }
}

async function registerEdges(
  app: MatchmakerApp,
  store: MatchmakerStore,
  m: LatencyMatrix,
  edges: number[],
  random: () => number,
  deployment: string,
) {
  const mesh = m.geo ? undefined : meshCoordinates(m, edges, random);
  const centre = [0, 1, 2].map((d) => (mesh ?? []).reduce((s, c) => s + (c.v[d] ?? 0), 0) / edges.length);
  const ids: string[] = [];
  const accounts: LocalAccount[] = [];
  for (const [i, node] of edges.entries()) {
    const account = privateKeyToAccount(generatePrivateKey());
    accounts.push(account);
    const geo = m.geo?.[node] ?? { lat: 0, lon: 0 };
    const region = mesh
      ? octant(mesh[i] as NetworkCoordinate, centre)
      : `metro-${Math.round(geo.lat / 10)}-${Math.round(geo.lon / 10)}`.replace(/-(?=-)/g, '-m');
    const payload: EdgeRegistrationPayload = {
      edge: account.address,
      region: region.replace(/[^a-z0-9-]/g, ''),
      lat: geo.lat,
      lon: geo.lon,
      gpu: 'bench',
      encoders: ['libx264'],
      capacity: 10_000,
      pricePerMinute: '1000000000000000',
      version: 'bench',
      publicUrl: `http://edge${i}.bench.invalid:8443`,
      games: [{ ...PONG, input: [...PONG.input] }],
      issuedAt: Date.now(),
      nonce: randomNonce(),
      deployment,
    };
    const signature = await signEdgeMessage(account, 'EdgeRegistration', payload);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/edges/register',
      payload: { payload, signature },
    });
    if (res.statusCode !== 200) throw new Error(`registration failed: ${res.body}`);
    ids.push(account.address.toLowerCase());
  }
  // The edges measure each other as real ones do: each heartbeat answer names peers (MAX_EDGE_PEERS, at
  // random), the next heartbeat reports the RTTs to them (from the matrix); `PEER_HEARTBEATS` rounds.
  const nodeOf = new Map(ids.map((id, i) => [id, edges[i] as number]));
  const peersOf = new Map<string, { edgeId: string }[]>();
  await app.matchmaker.refresh();
  for (let round = 0; round < PEER_HEARTBEATS; round++) {
    for (const [i, account] of accounts.entries()) {
      const id = ids[i] as string;
      const peerRtts = (peersOf.get(id) ?? []).map((peer) => ({
        edge: peer.edgeId,
        rttMs: Math.round(rttOf(m, edges[i] as number, nodeOf.get(peer.edgeId) ?? 0) * 100) / 100,
      }));
      const payload: EdgeHeartbeatPayload = {
        edge: account.address,
        activeSessions: 0,
        freeSlots: 10_000,
        encodeHeadroom: 1.5,
        ...(peerRtts.length > 0 ? { peerRtts } : {}),
        issuedAt: Date.now(),
        nonce: randomNonce(),
        deployment,
      };
      const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/edges/heartbeat',
        payload: { payload, signature },
      });
      if (res.statusCode !== 200) throw new Error(`heartbeat failed: ${res.body}`);
      peersOf.set(id, (res.json() as { peers: { edgeId: string }[] }).peers);
    }
  }
  await app.matchmaker.refresh();
  // Without geography the edges' coordinates come from their RTTs to each other, shared through the store
  // as the matchmaker shares refined coordinates (an edge mesh: the matchmaker's own refinement keeps an
  // edge near its geography, which this matrix does not have); the peer RTTs stay as the heartbeats left them.
  if (mesh) {
    const stored = await store.getCoordinates();
    await store.putCoordinates(
      Object.fromEntries(ids.map((id, i) => [id, { ...stored[id], ...(mesh[i] as NetworkCoordinate) }])),
    );
    await app.matchmaker.refresh();
  }
  return ids;
}

async function runPlayers(
  app: MatchmakerApp,
  m: LatencyMatrix,
  players: number[],
  edges: number[],
  nodeOf: Map<string, number>,
) {
  const post = async <T>(url: string, body: Record<string, unknown>): Promise<T> => {
    const res = await app.inject({ method: 'POST', url, payload: body });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.json() as T;
  };
  const today: number[] = [];
  const cold = { regret: [] as number[], probed: [] as number[], probes: [] as number[], ms: [] as number[] };
  const warm = { regret: [] as number[], probed: [] as number[], probes: [] as number[], ms: [] as number[] };
  for (const p of players) {
    const near = m.geo?.[p] ? coarse(m.geo[p]) : undefined;
    const best = Math.min(...edges.map((e) => rttOf(m, p, e)));
    const regretOf = (session: CreateSessionResponse) =>
      rttOf(m, p, nodeOf.get(session.edge.edgeId.toLowerCase()) ?? p) - best;
    const measure = (candidates: readonly Candidate[]): RttMeasurement[] =>
      candidates.map((c) => ({
        edgeId: c.edgeId,
        rttMs: Math.round(rttOf(m, p, nodeOf.get(c.edgeId) ?? p) * 100) / 100,
      }));
    const session = (measurements: RttMeasurement[], coordinate?: NetworkCoordinate) =>
      post<CreateSessionResponse>('/v1/sessions', {
        gameId: 'pong',
        measurements,
        sessionKey: `0x${randomBytes(20).toString('hex')}`,
        ...(near ?? {}),
        ...(coordinate ? { coordinate } : {}),
      });

    // Today's path: one round of the 5 candidates the matchmaker offers, then the session.
    const offered = await post<{ candidates: Candidate[] }>('/v1/candidates', {
      gameId: 'pong',
      ...(near ?? {}),
      limit: 5,
    });
    today.push(regretOf(await session(measure(offered.candidates))));

    // Two rounds, cold then warm (the coordinate the cold session fitted, as the page keeps it).
    let last: ProbeEdgesResult | undefined;
    for (const [figures, start] of [
      [cold, undefined],
      [warm, 'remembered'],
    ] as const) {
      let probeMs = 0;
      const result = await probeEdges(
        {
          candidates: async (request) =>
            (
              await post<{ candidates: Candidate[] }>('/v1/candidates', {
                gameId: 'pong',
                ...(near ?? {}),
                ...request,
              })
            ).candidates,
          probe: async (candidates, cutoff) => {
            const round = simulateRound(measure(candidates), cutoff);
            probeMs += round.ms;
            return round.answered;
          },
        },
        {
          ...(start && last
            ? {
                remembered: last.coordinate,
                rememberedEdges: last.best,
                rememberedMeasurements: last.measurements,
              }
            : {}),
          initial: near ? geoCoordinate(near.lat, near.lon) : undefined,
        },
      );
      figures.regret.push(regretOf(await session(result.measurements, result.coordinate)));
      figures.probed.push(Math.min(...result.measurements.map((x) => x.rttMs)) - best);
      figures.probes.push(result.measurements.length);
      figures.ms.push(probeMs);
      last = result;
    }
  }
  const summary = (f: typeof cold) => ({
    regretMs: percentiles(f.regret),
    probedRegretMs: percentiles(f.probed),
    probes: percentiles(f.probes),
    probeMs: percentiles(f.ms),
  });
  return { today: { regretMs: percentiles(today), probes: 5 }, cold: summary(cold), warm: summary(warm) };
}
