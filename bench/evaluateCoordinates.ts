import { type Coordinate, CoordinateModel } from '../matchmaker/coordinates.js';
import { haversineKm } from '../matchmaker/geo.js';
import {
  geoCoordinate,
  originCoordinate,
  predictionScore,
  predictRtt,
  solveCoordinate,
  vivaldiUpdate,
} from '../protocol/networkCoordinates.js';

/**
 * Offline evaluation of the matchmaker's network coordinates on a latency matrix (bench/matchmaker.ts,
 * unit tests): held-out prediction error, and the regret of the allocation it drives.
 */

/** A symmetric RTT matrix, ms, row-major; `geo` when node locations are known. */
export interface LatencyMatrix {
  n: number;
  rtt: Float64Array;
  geo?: { lat: number; lon: number }[];
}

/** Deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The RTT from node `i` to node `j` of the matrix, ms (0 when out of range). */
export function rttOf(m: LatencyMatrix, i: number, j: number): number {
  return m.rtt[i * m.n + j] ?? 0;
}

/**
 * A synthetic Internet: nodes around 40 metro areas, RTT = great-circle fibre delay × a per-pair
 * path inflation (1.1–1.5, 5 % of pairs detoured ×1.3–2: triangle-inequality violations) + both
 * nodes' access delays (1 ms + exponential, mean 4 ms; 10 % of nodes on slow links, +10–40 ms).
 */
export function syntheticMatrix(n: number, seed = 1): LatencyMatrix {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const metros = Array.from({ length: 40 }, () => ({
    lat: -45 + random() * 105,
    lon: -180 + random() * 360,
  }));
  const geo = Array.from({ length: n }, () => {
    const m = metros[Math.floor(random() * metros.length)] as { lat: number; lon: number };
    return {
      lat: Math.max(-89, Math.min(89, m.lat + gauss() * 1.5)),
      lon: ((m.lon + gauss() * 1.5 + 540) % 360) - 180,
    };
  });
  const access = Array.from(
    { length: n },
    () => 1 + -Math.log(random() + 1e-12) * 4 + (random() < 0.1 ? 10 + random() * 30 : 0),
  );
  const rtt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = geo[i] as { lat: number; lon: number };
      const b = geo[j] as { lat: number; lon: number };
      let inflation = 1.1 + 0.4 * random();
      if (random() < 0.05) inflation *= 1.3 + 0.7 * random();
      const v =
        (haversineKm(a.lat, a.lon, b.lat, b.lon) / 100) * inflation + (access[i] ?? 0) + (access[j] ?? 0);
      rtt[i * n + j] = v;
      rtt[j * n + i] = v;
    }
  }
  return { n, rtt, geo };
}

/** Parses a tab-separated RTT matrix (one row per node). */
export function parseMatrix(tsv: string): LatencyMatrix {
  const rows = tsv
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
  const n = rows.length;
  const rtt = new Float64Array(n * n);
  rows.forEach((row, i) => {
    row.forEach((v, j) => {
      rtt[i * n + j] = v;
    });
  });
  return { n, rtt };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

const round = (x: number) => Math.round(x * 100) / 100;

export interface ErrorFigures {
  /** Absolute error |predicted − true|, ms. */
  p50: number;
  p90: number;
  /** Relative error |predicted − true| / true. */
  relP50: number;
  relP90: number;
}

function figures(abs: number[], rel: number[]): ErrorFigures {
  return {
    p50: round(percentile(abs, 0.5)),
    p90: round(percentile(abs, 0.9)),
    relP50: round(percentile(rel, 0.5)),
    relP90: round(percentile(rel, 0.9)),
  };
}

/**
 * Classic Vivaldi (all nodes, `neighbours` random neighbours each, 3-D + height) trained on the
 * neighbour pairs only and tested on held-out pairs (pairs no node ever measured).
 */
export function evaluateVivaldi(
  m: LatencyMatrix,
  options: { neighbours?: number; rounds?: number; seed?: number; testPairs?: number } = {},
): ErrorFigures {
  const random = seededRandom(options.seed ?? 7);
  const k = options.neighbours ?? 32;
  const coords: Coordinate[] = Array.from({ length: m.n }, () => originCoordinate());
  const neighbours: number[][] = [];
  const known = new Set<number>();
  for (let i = 0; i < m.n; i++) {
    const set = new Set<number>();
    while (set.size < Math.min(k, m.n - 1)) {
      const j = Math.floor(random() * m.n);
      if (j !== i) set.add(j);
    }
    neighbours.push([...set]);
    for (const j of set) {
      known.add(i * m.n + j);
      known.add(j * m.n + i);
    }
  }
  const rounds = options.rounds ?? 200;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < m.n; i++) {
      const list = neighbours[i] as number[];
      const j = list[Math.floor(random() * list.length)] as number;
      vivaldiUpdate(coords[i] as Coordinate, coords[j] as Coordinate, rttOf(m, i, j), {}, random);
    }
  }
  const abs: number[] = [];
  const rel: number[] = [];
  const tests = options.testPairs ?? 20_000;
  for (let t = 0; t < tests; t++) {
    const i = Math.floor(random() * m.n);
    const j = Math.floor(random() * m.n);
    if (i === j || known.has(i * m.n + j)) continue;
    const truth = rttOf(m, i, j);
    if (!(truth > 0)) continue;
    const e = Math.abs(predictRtt(coords[i] as Coordinate, coords[j] as Coordinate) - truth);
    abs.push(e);
    rel.push(e / truth);
  }
  return figures(abs, rel);
}

export interface AllocationFigures {
  /** Error predicting RTT to edges the player did not probe, after its probes. */
  prediction: ErrorFigures;
  /** True RTT of the edge allocated minus the best edge's, ms. */
  regretMs: { p50: number; p90: number };
  /** Same when the player probes 5 edges chosen at random (baseline). */
  randomProbeRegretMs: { p50: number; p90: number };
}

/**
 * The matchmaker's own flow on a matrix: `edges` nodes are edges, the rest players. Each player is
 * new (no coordinate): candidates are the best predicted from its location hint (geography, if the
 * matrix has it; else a spread of edges) plus one exploration pick; it probes `probes` of them; the
 * matchmaker solves its coordinate, refines the probed edges, and allocates the best of measured and
 * predicted. The first `trainPlayers` only train the coordinates; the rest are scored.
 */
export function evaluateAllocation(
  m: LatencyMatrix,
  options: {
    edges?: number;
    probes?: number;
    trainPlayers?: number;
    seed?: number;
    firstRound?: number;
  } = {},
): AllocationFigures {
  const random = seededRandom(options.seed ?? 11);
  const nEdges = Math.min(options.edges ?? 50, Math.floor(m.n / 2));
  const probes = options.probes ?? 5;
  const order = Array.from({ length: m.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const edges = order.slice(0, nEdges);
  const players = order.slice(nEdges);
  const trainPlayers = Math.min(options.trainPlayers ?? Math.floor(players.length / 2), players.length - 1);
  const model = new CoordinateModel({ random, edgeCc: 0.1 });
  const id = (e: number) => `e${e}`;

  // Edges start from geography when known; without it, from edge↔edge Vivaldi (edges can ping each other).
  if (m.geo) {
    for (const e of edges) model.ensure(id(e), m.geo[e]?.lat ?? 0, m.geo[e]?.lon ?? 0);
  } else {
    const coords = new Map(edges.map((e) => [e, originCoordinate()]));
    for (let r = 0; r < 300; r++) {
      for (const e of edges) {
        const o = edges[Math.floor(random() * edges.length)] as number;
        if (o !== e)
          vivaldiUpdate(coords.get(e) as Coordinate, coords.get(o) as Coordinate, rttOf(m, e, o), {}, random);
      }
    }
    model.merge(Object.fromEntries(edges.map((e) => [id(e), coords.get(e) as Coordinate])));
  }

  const abs: number[] = [];
  const rel: number[] = [];
  const regret: number[] = [];
  const randomRegret: number[] = [];
  players.forEach((p, index) => {
    const hint = m.geo ? geoCoordinate(m.geo[p]?.lat ?? 0, m.geo[p]?.lon ?? 0) : undefined;
    // Candidates: best predicted from the hint, or (no hint) a spread: farthest-point sampling.
    let candidates: number[];
    if (hint) {
      const ranked = edges
        .map((e) => ({ e, d: predictRtt(hint, model.get(id(e)) as Coordinate) }))
        .sort((a, b) => a.d - b.d);
      candidates = ranked.slice(0, probes - 1).map((r) => r.e);
      const rest = ranked.slice(probes - 1, 4 * probes);
      candidates.push((rest[Math.floor(random() * rest.length)] as { e: number }).e);
    } else {
      const first = options.firstRound ?? probes;
      candidates = kMeansProbes(
        edges.map((e) => ({ key: e, coordinate: model.get(id(e)) as Coordinate })),
        first,
        random,
      );
      if (first < probes) {
        // Second round: solve from the first probes, then probe the best predicted of the rest.
        const partial = solveCoordinate(
          candidates.map((e) => ({ coordinate: model.get(id(e)) as Coordinate, rttMs: rttOf(m, p, e) })),
          undefined,
          random,
        );
        const next = edges
          .filter((e) => !candidates.includes(e))
          .map((e) => ({ e, d: predictRtt(partial, model.get(id(e)) as Coordinate) }))
          .sort((a, b) => a.d - b.d)
          .slice(0, probes - first)
          .map((x) => x.e);
        candidates.push(...next);
      }
    }
    const measured = candidates.map((e) => ({ edgeId: id(e), rttMs: rttOf(m, p, e) }));
    const player = model.observe(measured, hint) ?? hint ?? originCoordinate();
    if (index < trainPlayers) return;
    // Second round: with its coordinate solved, the player probes the best predicted edges it has not
    // probed yet? No: the player API has one probe round; the allocation uses predictions instead.
    const truthBest = Math.min(...edges.map((e) => rttOf(m, p, e)));
    let chosen = candidates.reduce((a, b) => (rttOf(m, p, b) < rttOf(m, p, a) ? b : a));
    let chosenScore = rttOf(m, p, chosen);
    for (const e of edges) {
      if (candidates.includes(e)) continue;
      const c = model.get(id(e)) as Coordinate;
      const predicted = predictRtt(player, c);
      const truth = rttOf(m, p, e);
      abs.push(Math.abs(predicted - truth));
      rel.push(Math.abs(predicted - truth) / truth);
      const score = predictionScore(predicted, player, c);
      if (score < chosenScore) {
        chosen = e;
        chosenScore = score;
      }
    }
    regret.push(rttOf(m, p, chosen) - truthBest);
    const randomProbes = Array.from(
      { length: probes },
      () => edges[Math.floor(random() * edges.length)] as number,
    );
    randomRegret.push(Math.min(...randomProbes.map((e) => rttOf(m, p, e))) - truthBest);
  });
  return {
    prediction: figures(abs, rel),
    regretMs: { p50: round(percentile(regret, 0.5)), p90: round(percentile(regret, 0.9)) },
    randomProbeRegretMs: {
      p50: round(percentile(randomRegret, 0.5)),
      p90: round(percentile(randomRegret, 0.9)),
    },
  };
}

/**
 * Probe targets for a player with no location on a matrix without locations: k-means over the edges'
 * coordinates, one edge nearest each centre (largest clusters first). The matchmaker itself spreads
 * such players over regions (matchmaker/spreadOverRegions.ts); a bare matrix has no regions, so the
 * evaluation clusters coordinates instead.
 */
function kMeansProbes<K>(
  edges: { key: K; coordinate: Coordinate }[],
  k: number,
  random: () => number = Math.random,
): K[] {
  if (edges.length <= k) return edges.map((e) => e.key);
  const centres: Coordinate[] = [];
  const used = new Set<number>();
  while (centres.length < k) {
    const i = Math.floor(random() * edges.length);
    if (used.has(i)) continue;
    used.add(i);
    centres.push(structuredClone((edges[i] as { coordinate: Coordinate }).coordinate));
  }
  let assignment = new Array<number>(edges.length).fill(0);
  for (let iteration = 0; iteration < 10; iteration++) {
    assignment = edges.map((e) => {
      let best = 0;
      let bestD = Number.POSITIVE_INFINITY;
      centres.forEach((c, j) => {
        const d = predictRtt(e.coordinate, { ...c, h: 0 });
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      });
      return best;
    });
    centres.forEach((c, j) => {
      const members = edges.filter((_, i) => assignment[i] === j);
      if (members.length === 0) return;
      c.v = c.v.map((_, d) => members.reduce((s, m) => s + (m.coordinate.v[d] ?? 0), 0) / members.length);
      c.h = 0;
    });
  }
  const picks: { key: K; size: number }[] = [];
  centres.forEach((c, j) => {
    const members = edges.filter((_, i) => assignment[i] === j);
    if (members.length === 0) return;
    const nearest = members.reduce((a, b) =>
      predictRtt(b.coordinate, { ...c, h: 0 }) < predictRtt(a.coordinate, { ...c, h: 0 }) ? b : a,
    );
    picks.push({ key: nearest.key, size: members.length });
  });
  const out = picks.sort((a, b) => b.size - a.size).map((p) => p.key);
  for (const e of edges) {
    if (out.length >= k) break;
    if (!out.includes(e.key)) out.push(e.key);
  }
  return out;
}
