import type { StoredCoordinate } from './store/MatchmakerStore.js';

/**
 * Network coordinates: Vivaldi (Dabek et al., SIGCOMM 2004) in 3-D Euclidean space plus a height
 * (the access-link delay), predicted RTT = ‖a.v − b.v‖ + a.h + b.h.
 *
 * Matchmaker twist: an edge's coordinate starts from its geography (a point on a sphere whose
 * chord distances approximate fibre RTT), so an edge nobody has probed yet is still ranked sensibly;
 * every player measurement then refines it. A player's coordinate is solved per request from its
 * measurements to edges whose coordinates are known (edges held fixed).
 */
export type Coordinate = StoredCoordinate;

/** Dimensions of the Euclidean part. */
export const DIMENSIONS = 3;
/** ms of RTT per km of great-circle distance (light in fibre, ×~1.5 path inflation, both ways). */
export const RTT_MS_PER_KM = 1 / 66;
const EARTH_RADIUS_KM = 6371;
const MIN_HEIGHT_MS = 0.1;
/** `learn` drops RTTs above this (ms): no player plays over a longer path. */
const MAX_PLAUSIBLE_RTT_MS = 1000;
/** `learn` teaches nothing from a fit whose median relative residual is above this. */
const MAX_FIT_ERROR = 0.5;
/** `learn` drops a measurement whose relative residual (to the smaller of prediction and RTT) exceeds this. */
const OUTLIER_RELATIVE = 1;
/** Relative error at which a measurement's weight in `learn` halves. */
const AGREEMENT_SCALE = 0.5;
/** `learn` clamps a measurement to the prediction ± this (ms) before stepping. */
const MAX_RESIDUAL_MS = 10;
/** Lessons one source gives per window (`learn`). */
const LEARN_PER_SOURCE = 3;
const LEARN_WINDOW_MS = 10 * 60_000;

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
 * Whether one player's RTTs to several edges can all be true: the difference of two of them cannot much
 * exceed the RTT between the two edges (triangle inequality; slack 50 % + 10 ms for real routing).
 */
function triangleConsistent(anchors: readonly Anchor[]): boolean {
  for (let i = 0; i < anchors.length; i++)
    for (let j = i + 1; j < anchors.length; j++) {
      const a = anchors[i] as Anchor;
      const b = anchors[j] as Anchor;
      const between = predictRtt(a.coordinate, b.coordinate);
      if (Math.abs(a.rttMs - b.rttMs) > 1.5 * between + 10) return false;
    }
  return true;
}

/**
 * The coordinates of all edges this matchmaker instance knows: seeded from geography, refined by every
 * player measurement (`observe`), shared through the store (`dirty` ones are flushed periodically).
 */
export class CoordinateModel {
  readonly #coordinates = new Map<string, Coordinate>();
  readonly #dirty = new Set<string>();
  readonly #random: () => number;
  /** Where each edge's geography put it: `learn` keeps it within `anchorRadiusMs` of there. */
  readonly #home = new Map<string, Coordinate>();
  readonly #budget = new Map<string, { n: number; since: number }>();
  /** Step constant for edge refinement: small, a player's fit is noisy (default 0.05). */
  readonly edgeCc: number;
  /** How far (ms) `learn` may move an edge from its anchor (default unbounded). */
  readonly anchorRadiusMs: number;

  constructor(options: { random?: () => number; edgeCc?: number; anchorRadiusMs?: number } = {}) {
    this.#random = options.random ?? Math.random;
    this.edgeCc = options.edgeCc ?? 0.05;
    this.anchorRadiusMs = options.anchorRadiusMs ?? Number.POSITIVE_INFINITY;
  }

  /** The edge's coordinate, seeded from its geography the first time (also its anchor). */
  ensure(edgeId: string, lat: number, lon: number): Coordinate {
    let c = this.#coordinates.get(edgeId);
    if (!c) {
      c = geoCoordinate(lat, lon);
      this.#coordinates.set(edgeId, c);
    }
    if (!this.#home.has(edgeId)) this.#home.set(edgeId, geoCoordinate(lat, lon));
    return c;
  }

  get(edgeId: string): Coordinate | undefined {
    return this.#coordinates.get(edgeId);
  }

  /** The player's coordinate from its measurements (edges held fixed; nothing learnt), or `initial`. */
  solve(measurements: readonly Measurement[], initial?: Coordinate): Coordinate | undefined {
    const anchors = this.#anchors(measurements);
    return anchors.length === 0 ? initial : solveCoordinate(anchors, initial, this.#random);
  }

  /**
   * Refines the measured edges from one player's measurements, trusting them only as far as they deserve
   * (the matchmaker calls this for sessions that really started, never for bare requests): RTTs outside
   * (0, 1000] ms are dropped; one `source` (a client address) teaches at most `LEARN_PER_SOURCE` times per
   * 10 minutes; RTTs that break the triangle inequality between the edges (slack 50 % + 10 ms) teach nothing;
   * the measurements the fit disagrees with most are dropped as outliers, and a fit whose median residual is
   * above 50 % or that still disagrees with one measurement by more than 100 % teaches nothing; each edge's step is weighted by how well its measurement agrees with the
   * prediction (1 / (1 + (relative error / 0.5)²)), bounded (the residual is clamped to ±10 ms), and an edge
   * never leaves a ball of `anchorRadiusMs` around its anchor (where its geography put it).
   */
  learn(
    measurements: readonly Measurement[],
    options: { initial?: Coordinate | undefined; source?: string | undefined; now?: number } = {},
  ): void {
    const anchors = this.#anchors(measurements).filter((a) => a.rttMs <= MAX_PLAUSIBLE_RTT_MS);
    if (anchors.length < 3 || !triangleConsistent(anchors)) return;
    if (options.source !== undefined && !this.#spend(options.source, options.now ?? Date.now())) return;
    let player = solveCoordinate(anchors, options.initial, this.#random);
    // Robust to outliers: while more than three remain, drop the measurement the fit disagrees with most
    // (relative residual above 1) and fit again; it teaches nothing.
    while (anchors.length > 3) {
      let worst = -1;
      let worstRelative = OUTLIER_RELATIVE;
      for (const [i, a] of anchors.entries()) {
        const predicted = predictRtt(player, a.coordinate);
        const relative = Math.abs(a.rttMs - predicted) / Math.max(Math.min(predicted, a.rttMs), 1);
        if (relative > worstRelative) {
          worst = i;
          worstRelative = relative;
        }
      }
      if (worst < 0) break;
      anchors.splice(worst, 1);
      player = solveCoordinate(anchors, options.initial, this.#random);
    }
    if (player.e > MAX_FIT_ERROR) return;
    // What is left must agree with the fit throughout, or the whole sample teaches nothing.
    const relativeOf = (a: Anchor) => {
      const predicted = predictRtt(player, a.coordinate);
      return Math.abs(a.rttMs - predicted) / Math.max(Math.min(predicted, a.rttMs), 1);
    };
    if (anchors.some((a) => relativeOf(a) > OUTLIER_RELATIVE)) return;
    for (const a of anchors) {
      const predicted = predictRtt(player, a.coordinate);
      const relative = relativeOf(a);
      const agreement = 1 / (1 + (relative / AGREEMENT_SCALE) ** 2);
      const target = Math.min(predicted + MAX_RESIDUAL_MS, Math.max(predicted - MAX_RESIDUAL_MS, a.rttMs));
      vivaldiUpdate(a.coordinate, player, target, { cc: this.edgeCc * agreement, ce: 0.1 }, this.#random);
      this.#keepNearAnchor(a.edgeId, a.coordinate);
      this.#dirty.add(a.edgeId);
    }
  }

  /**
   * Solves the player's coordinate from its measurements, then refines each measured edge trusting every
   * measurement (simulations and benches; the matchmaker uses `solve` and `learn`).
   */
  observe(measurements: readonly Measurement[], initial?: Coordinate): Coordinate | undefined {
    const anchors = this.#anchors(measurements);
    if (anchors.length === 0) return initial;
    const player = solveCoordinate(anchors, initial, this.#random);
    // Refining edges from a fit of one or two points would only echo the fit back.
    if (anchors.length >= 3) {
      for (const a of anchors) {
        vivaldiUpdate(a.coordinate, player, a.rttMs, { cc: this.edgeCc, ce: 0.1 }, this.#random);
        this.#dirty.add(a.edgeId);
      }
    }
    return player;
  }

  /** Measured edges this model knows, each once: a request repeating one must not pass for several anchors. */
  #anchors(measurements: readonly Measurement[]): (Anchor & { edgeId: string })[] {
    const anchors: (Anchor & { edgeId: string })[] = [];
    for (const m of measurements) {
      const c = this.#coordinates.get(m.edgeId);
      if (c && m.rttMs > 0 && Number.isFinite(m.rttMs) && !anchors.some((a) => a.edgeId === m.edgeId))
        anchors.push({ edgeId: m.edgeId, coordinate: c, rttMs: m.rttMs });
    }
    return anchors;
  }

  /** Counts one lesson against `source`'s budget; false when it is spent for this window. */
  #spend(source: string, now: number): boolean {
    let b = this.#budget.get(source);
    if (!b || now - b.since >= LEARN_WINDOW_MS) {
      // Bounded memory: an old window is as good as none.
      if (this.#budget.size >= 100_000) this.#budget.clear();
      b = { n: 0, since: now };
      this.#budget.set(source, b);
    }
    if (b.n >= LEARN_PER_SOURCE) return false;
    b.n++;
    return true;
  }

  /** Pulls `c` back onto the ball of `anchorRadiusMs` around the edge's anchor if it strayed further. */
  #keepNearAnchor(edgeId: string, c: Coordinate): void {
    const home = this.#home.get(edgeId);
    if (!home || !Number.isFinite(this.anchorRadiusMs)) return;
    let d2 = 0;
    for (let i = 0; i < c.v.length; i++) d2 += ((c.v[i] ?? 0) - (home.v[i] ?? 0)) ** 2;
    const d = Math.sqrt(d2);
    if (d > this.anchorRadiusMs) {
      const k = this.anchorRadiusMs / d;
      for (let i = 0; i < c.v.length; i++) c.v[i] = (home.v[i] ?? 0) + ((c.v[i] ?? 0) - (home.v[i] ?? 0)) * k;
    }
    c.h = Math.min(c.h, home.h + this.anchorRadiusMs);
  }

  /** Takes the coordinates changed since the last call (for the store). */
  takeDirty(): Record<string, Coordinate> {
    const out: Record<string, Coordinate> = {};
    for (const id of this.#dirty) {
      const c = this.#coordinates.get(id);
      if (c) out[id] = copyCoordinate(c);
    }
    this.#dirty.clear();
    return out;
  }

  /** Marks coordinates for the next `takeDirty` again (their store write failed). */
  markDirty(edgeIds: readonly string[]): void {
    for (const id of edgeIds) if (this.#coordinates.has(id)) this.#dirty.add(id);
  }

  /**
   * Adopts coordinates other instances refined (ours pending a flush win). Runs every refresh over
   * every edge, so an unchanged coordinate (usually most of them, often our own flush read back) is
   * left as it is instead of being copied again.
   */
  merge(remote: Record<string, Coordinate>): void {
    for (const id in remote) {
      const c = remote[id] as Coordinate;
      if (this.#dirty.has(id)) continue;
      const mine = this.#coordinates.get(id);
      if (mine && sameCoordinate(mine, c)) continue;
      this.#coordinates.set(id, copyCoordinate(c));
    }
  }

  forget(edgeId: string): void {
    this.#coordinates.delete(edgeId);
    this.#home.delete(edgeId);
    this.#dirty.delete(edgeId);
  }
}

/** A deep copy of a coordinate (structuredClone's result, a fraction of its cost). */
export function copyCoordinate(c: Coordinate): Coordinate {
  return { v: c.v.slice(), h: c.h, e: c.e };
}

function sameCoordinate(a: Coordinate, b: Coordinate): boolean {
  if (a.h !== b.h || a.e !== b.e || a.v.length !== b.v.length) return false;
  for (let i = 0; i < a.v.length; i++) if (a.v[i] !== b.v[i]) return false;
  return true;
}

/**
 * Ranking score of an edge the player did not probe: its predicted RTT plus a margin for the
 * prediction's uncertainty (at least 5 ms, at least 30 % — a fit on a handful of probes is
 * over-confident), so a measured edge wins unless a prediction is clearly better.
 */
export function predictionScore(predicted: number, player: Coordinate, edge: Coordinate): number {
  return predicted + Math.max(5, predicted * Math.max(0.3, Math.min(1, (player.e + edge.e) / 2)));
}
