import {
  type Anchor,
  geoCoordinate,
  type Measurement,
  predictRtt,
  solveCoordinate,
  vivaldiUpdate,
} from '../protocol/networkCoordinates.js';
import type { StoredCoordinate } from './store/MatchmakerStore.js';

/**
 * The edges' network coordinates as this matchmaker instance keeps them (the math is
 * protocol/networkCoordinates.ts, shared with the player page): an edge starts from its geography, so an
 * edge nobody has probed yet is still ranked sensibly; the players of sessions that really started refine it.
 */
export type Coordinate = StoredCoordinate;

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
/** Step constant of an edge's update from its RTTs to other edges (`learnPeers`): Vivaldi's usual 0.25. */
const PEER_CC = 0.25;
/**
 * RTT light in fibre needs per ms of coordinate distance between two geographic seeds: a seed's ms are km / 66
 * (RTT_MS_PER_KM), light's round trip km / 100.
 */
const LIGHT_RTT_PER_SEED_MS = 0.66;
/** Peer RTTs kept per edge (the most recently measured; an older one is dropped first). */
export const MAX_PEER_RTTS = 64;
/** How far a peer RTT above the one kept moves it (a lower one is taken as it is: queueing only adds). */
const PEER_RTT_RISE = 0.25;

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
   * Refines edge `edgeId` from its own RTTs to other edges (edge-to-edge anchors, from its signed heartbeat).
   * Only the reporter moves (each edge places itself, as in Vivaldi), so an edge's measurements never move
   * another edge. A measurement is dropped when implausible: not in (0, 1000] ms, to an unknown edge or to
   * itself, or faster than light in fibre between the two edges' geographic seeds. Each step is bounded (the
   * residual is clamped to ±10 ms) and the edge stays within `anchorRadiusMs` of its geography.
   * Returns how many measurements were used.
   */
  learnPeers(edgeId: string, measurements: readonly Measurement[]): number {
    const self = this.#coordinates.get(edgeId);
    const home = this.#home.get(edgeId);
    if (!self || !home) return 0;
    let used = 0;
    for (const a of this.#anchors(measurements)) {
      if (a.edgeId === edgeId || a.rttMs > MAX_PLAUSIBLE_RTT_MS) continue;
      const peerHome = this.#home.get(a.edgeId);
      if (peerHome && a.rttMs < LIGHT_RTT_PER_SEED_MS * seedDistance(home, peerHome)) continue;
      keepPeerRtt(self, a.edgeId, a.rttMs);
      const predicted = predictRtt(self, a.coordinate);
      const target = Math.min(predicted + MAX_RESIDUAL_MS, Math.max(predicted - MAX_RESIDUAL_MS, a.rttMs));
      vivaldiUpdate(self, a.coordinate, target, { cc: PEER_CC, ce: 0.25 }, this.#random);
      this.#keepNearAnchor(edgeId, self);
      used++;
    }
    if (used > 0) this.#dirty.add(edgeId);
    return used;
  }

  /** The RTT (ms) between two edges as either reported it in a heartbeat (`learnPeers`), if one did. */
  peerRtt(a: string, b: string): number | undefined {
    return this.#coordinates.get(a)?.peers?.[b] ?? this.#coordinates.get(b)?.peers?.[a];
  }

  /**
   * Lower bounds of a player's RTT to edges it did not probe, from the RTTs it measured to others and the
   * edges' RTTs to each other (triangle inequality: rtt(p, e) ≥ |rtt(p, l) − rtt(l, e)| for every measured
   * l; the largest is the bound). No embedding in between: real routes break the triangle inequality often
   * enough that a coordinate's error swamps the ranking, where each bound rests on two real measurements.
   * Undefined for an edge no measured edge has an RTT to.
   */
  rttLowerBound(edgeId: string, measured: readonly Measurement[]): number | undefined {
    let bound: number | undefined;
    for (const m of measured) {
      if (m.edgeId === edgeId) return m.rttMs;
      const between = this.peerRtt(m.edgeId, edgeId);
      if (between === undefined) continue;
      const b = Math.abs(m.rttMs - between);
      if (bound === undefined || b > bound) bound = b;
    }
    return bound;
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
   * left as it is instead of being copied again. Returns whether any coordinate changed.
   */
  merge(remote: Record<string, Coordinate>): boolean {
    let moved = false;
    for (const id in remote) {
      const c = remote[id] as Coordinate;
      if (this.#dirty.has(id)) continue;
      const mine = this.#coordinates.get(id);
      if (mine && sameCoordinate(mine, c)) continue;
      this.#coordinates.set(id, copyCoordinate(c));
      moved = true;
    }
    return moved;
  }

  forget(edgeId: string): void {
    this.#coordinates.delete(edgeId);
    this.#home.delete(edgeId);
    this.#dirty.delete(edgeId);
  }
}

/** Euclidean distance (ms) between two coordinates' `v`, heights left out. */
function seedDistance(a: Coordinate, b: Coordinate): number {
  let d2 = 0;
  for (let i = 0; i < a.v.length; i++) d2 += ((a.v[i] ?? 0) - (b.v[i] ?? 0)) ** 2;
  return Math.sqrt(d2);
}

/**
 * Keeps an edge's RTT to a peer: a lower sample is taken as it is (queueing only adds), a higher one moves
 * it a quarter of the way (a route changed); at most MAX_PEER_RTTS peers, the least recently measured dropped.
 */
function keepPeerRtt(c: Coordinate, peer: string, rttMs: number): void {
  const peers = c.peers ?? {};
  const old = peers[peer];
  delete peers[peer]; // re-inserted last: insertion order is recency
  peers[peer] = old === undefined || rttMs <= old ? rttMs : old + PEER_RTT_RISE * (rttMs - old);
  const ids = Object.keys(peers);
  for (let i = 0; i < ids.length - MAX_PEER_RTTS; i++) delete peers[ids[i] as string];
  c.peers = peers;
}

/** A deep copy of a coordinate (structuredClone's result, a fraction of its cost). */
export function copyCoordinate(c: Coordinate): Coordinate {
  const copy: Coordinate = { v: c.v.slice(), h: c.h, e: c.e };
  if (c.peers) copy.peers = { ...c.peers };
  return copy;
}

function sameCoordinate(a: Coordinate, b: Coordinate): boolean {
  if (a.h !== b.h || a.e !== b.e || a.v.length !== b.v.length) return false;
  for (let i = 0; i < a.v.length; i++) if (a.v[i] !== b.v[i]) return false;
  const ap = a.peers ?? {};
  const bp = b.peers ?? {};
  let n = 0;
  for (const id in ap) {
    if (ap[id] !== bp[id]) return false;
    n++;
  }
  return n === Object.keys(bp).length;
}
