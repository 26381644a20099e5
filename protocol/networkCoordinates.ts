import Type, { type Static } from 'typebox';

/**
 * Network coordinates, shared by the matchmaker (edges' coordinates, ranking) and the player page (it fits
 * its own coordinate from its probes, `protocol/probeEdges.ts`): Vivaldi (Dabek et al., SIGCOMM 2004) in
 * 3-D Euclidean space plus a height (the access-link delay), predicted RTT = ‖a.v − b.v‖ + a.h + b.h.
 * An edge's coordinate starts from its geography (a point on a sphere whose chord distances approximate
 * fibre RTT); a player's is solved from its RTTs to edges whose coordinates are held fixed.
 */
export const NetworkCoordinate = Type.Object({
  /** The Euclidean part (3 numbers), ms. */
  v: Type.Array(Type.Number({ minimum: -1e5, maximum: 1e5 }), { minItems: 3, maxItems: 3 }),
  /** Height: the access-link delay, ms. */
  h: Type.Number({ minimum: 0, maximum: 1e5 }),
  /** Error estimate (relative, 0..1.5). */
  e: Type.Number({ minimum: 0, maximum: 10 }),
});
export type NetworkCoordinate = Static<typeof NetworkCoordinate>;
type Coordinate = NetworkCoordinate;

/** Dimensions of the Euclidean part. */
export const DIMENSIONS = 3;
/** ms of RTT per km of great-circle distance (light in fibre, ×~1.5 path inflation, both ways). */
export const RTT_MS_PER_KM = 1 / 66;
const EARTH_RADIUS_KM = 6371;
const MIN_HEIGHT_MS = 0.1;
/** One RTT measurement from a player to an edge. */
export interface Measurement {
  edgeId: string;
  rttMs: number;
}

export interface VivaldiParameters {
  /** Coordinate step constant cc (default 0.25). */
  cc?: number;
  /** Error smoothing constant ce (default 0.25). */
  ce?: number;
}

/** Predicted RTT between two coordinates, ms. */
export function predictRtt(a: Coordinate, b: Coordinate): number {
  let sum = 0;
  for (let i = 0; i < a.v.length; i++) {
    const d = (a.v[i] ?? 0) - (b.v[i] ?? 0);
    sum += d * d;
  }
  return Math.sqrt(sum) + a.h + b.h;
}

/** A coordinate at the origin with full uncertainty. */
export function originCoordinate(dimensions = DIMENSIONS): Coordinate {
  return { v: new Array(dimensions).fill(0), h: MIN_HEIGHT_MS, e: 1 };
}

/** The coordinate geography suggests for a point: on a sphere of radius R_earth × RTT_MS_PER_KM. */
export function geoCoordinate(lat: number, lon: number, heightMs = 2): Coordinate {
  const r = EARTH_RADIUS_KM * RTT_MS_PER_KM;
  const phi = (lat * Math.PI) / 180;
  const lambda = (lon * Math.PI) / 180;
  return {
    v: [r * Math.cos(phi) * Math.cos(lambda), r * Math.cos(phi) * Math.sin(lambda), r * Math.sin(phi)],
    h: heightMs,
    e: 0.6,
  };
}

function randomUnit(dimensions: number, random: () => number): number[] {
  const u = Array.from({ length: dimensions }, () => random() - 0.5);
  const n = Math.hypot(...u) || 1;
  return u.map((x) => x / n);
}

/**
 * One Vivaldi step: moves `local` (in place) towards agreement with one RTT sample to `remote`.
 * `remoteWeight` scales how much `remote` is trusted (1 = as given by error estimates).
 */
export function vivaldiUpdate(
  local: Coordinate,
  remote: Coordinate,
  rttMs: number,
  parameters: VivaldiParameters = {},
  random: () => number = Math.random,
): void {
  if (!(rttMs > 0) || !Number.isFinite(rttMs)) return;
  const cc = parameters.cc ?? 0.25;
  const ce = parameters.ce ?? 0.25;
  const w = local.e / (local.e + remote.e || 1);
  const predicted = predictRtt(local, remote);
  const relativeError = Math.abs(predicted - rttMs) / rttMs;
  local.e = Math.min(1.5, relativeError * ce * w + local.e * (1 - ce * w));
  const force = cc * w * (rttMs - predicted);
  // Move along the unit height-vector from remote to local (Dabek et al. §5.3):
  // (v_l − v_r, h_l + h_r) / (‖v_l − v_r‖ + h_l + h_r). No allocation: this runs per measurement.
  const n = local.v.length;
  let norm2 = 0;
  for (let i = 0; i < n; i++) {
    const d = (local.v[i] ?? 0) - (remote.v[i] ?? 0);
    norm2 += d * d;
  }
  const norm = Math.sqrt(norm2);
  const heightSum = local.h + remote.h;
  if (norm > 1e-9) {
    const total = norm + heightSum;
    for (let i = 0; i < n; i++) {
      local.v[i] = (local.v[i] ?? 0) + (force * ((local.v[i] ?? 0) - (remote.v[i] ?? 0))) / total;
    }
    local.h = Math.max(MIN_HEIGHT_MS, local.h + (force * heightSum) / total);
  } else {
    // Same point: push in a random direction so the two can separate.
    const u = randomUnit(n, random);
    for (let i = 0; i < n; i++) local.v[i] = (local.v[i] ?? 0) + force * (u[i] ?? 0);
    local.h = Math.max(MIN_HEIGHT_MS, local.h + (force * heightSum) / (heightSum || 1));
  }
}

export interface Anchor {
  coordinate: Coordinate;
  rttMs: number;
}

/**
 * Solves a player's coordinate from RTTs to anchors whose coordinates are fixed (edges): starts at
 * `initial` (geography) or near the closest anchor, then iterates Vivaldi steps with a shrinking step.
 * The result's `e` is the median relative residual of the fit.
 */
export function solveCoordinate(
  anchors: Anchor[],
  initial?: Coordinate,
  random: () => number = Math.random,
): Coordinate {
  const usable = anchors.filter((a) => a.rttMs > 0 && Number.isFinite(a.rttMs));
  if (usable.length === 0) return initial ? structuredClone(initial) : originCoordinate();
  let start: Coordinate;
  if (initial) start = structuredClone(initial);
  else {
    const nearest = usable.reduce((a, b) => (b.rttMs < a.rttMs ? b : a));
    start = {
      v: nearest.coordinate.v.map((x) => x + (random() - 0.5) * 0.1),
      h: Math.max(MIN_HEIGHT_MS, nearest.rttMs / 2),
      e: 1,
    };
  }
  // Anchors are held fixed: near-zero error makes each step move the player only.
  const fixed = usable.map((a) => ({ coordinate: { ...a.coordinate, e: 1e-6 }, rttMs: a.rttMs }));
  const iterations = 40;
  const v = start.v;
  const threeD = v.length === 3 && fixed.every((a) => a.coordinate.v.length === 3);
  for (let it = 0; it < iterations; it++) {
    const cc = 0.5 * (1 - it / iterations) + 0.05;
    for (const a of fixed) {
      start.e = 1;
      // Per request this runs 40 × measurements times: the 3-D case is `vivaldiUpdate` with ce = 0
      // (the player's error stays 1) spelled out without allocations — the same arithmetic, in the
      // same order, so the same result. Coincident points (random push) take the general path.
      const r = a.coordinate;
      const rv = r.v;
      if (threeD) {
        const dx = (v[0] as number) - (rv[0] as number);
        const dy = (v[1] as number) - (rv[1] as number);
        const dz = (v[2] as number) - (rv[2] as number);
        const norm = Math.sqrt(dx * dx + dy * dy + dz * dz);
        if (norm > 1e-9) {
          const w = start.e / (start.e + r.e || 1);
          const predicted = norm + start.h + r.h;
          const force = cc * w * (a.rttMs - predicted);
          const heightSum = start.h + r.h;
          const total = norm + heightSum;
          v[0] = (v[0] as number) + (force * dx) / total;
          v[1] = (v[1] as number) + (force * dy) / total;
          v[2] = (v[2] as number) + (force * dz) / total;
          start.h = Math.max(MIN_HEIGHT_MS, start.h + (force * heightSum) / total);
          continue;
        }
      }
      vivaldiUpdate(start, r, a.rttMs, { cc, ce: 0 }, random);
    }
  }
  const residuals = usable
    .map((a) => Math.abs(predictRtt(start, a.coordinate) - a.rttMs) / a.rttMs)
    .sort((x, y) => x - y);
  start.e = Math.min(1, Math.max(0.05, residuals[Math.floor(residuals.length / 2)] ?? 1));
  return start;
}

/**
 * Ranking score of an edge the player did not probe: its predicted RTT plus a margin for the
 * prediction's uncertainty (at least 5 ms, at least 30 % — a fit on a handful of probes is
 * over-confident), so a measured edge wins unless a prediction is clearly better.
 */
export function predictionScore(predicted: number, player: Coordinate, edge: Coordinate): number {
  return predicted + Math.max(5, predicted * Math.max(0.3, Math.min(1, (player.e + edge.e) / 2)));
}
