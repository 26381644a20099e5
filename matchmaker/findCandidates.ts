import { geoCoordinate, predictRtt } from '../protocol/networkCoordinates.js';
import type { Candidate, CandidatesRequest } from '../protocol/playerApi.js';
import type { Allocator } from './Allocator.js';
import type { MatchmakerConfig } from './config.js';
import type { Coordinate, CoordinateModel } from './coordinates.js';
import type { EdgeIndex, EdgeView } from './EdgeIndex.js';
import type { Pricing } from './Pricing.js';
import { rankEdges } from './rankEdges.js';
import { spreadOverRegions } from './spreadOverRegions.js';
import type { EdgeState, MatchmakerStore } from './store/MatchmakerStore.js';

/** Extra candidate filters the matchmaker accepts beyond protocol/playerApi.ts. */
export interface CandidateFilters {
  /** Only edges with this encoder working. */
  encoder?: string;
  /** Only edges at or below this price per minute (ATH wei, after the multiplier). */
  maxPricePerMinute?: string;
}

export interface FindCandidatesParameters {
  request: CandidatesRequest & CandidateFilters;
  index: EdgeIndex;
  allocator: Allocator;
  store: MatchmakerStore;
  config: Readonly<MatchmakerConfig>;
  coordinates: CoordinateModel;
  pricing: Pricing;
  random: () => number;
}

/**
 * K candidate edges for a player to probe, all with room for the game, each with its coordinate (the page
 * fits its own from its probes, protocol/probeEdges.ts). With the player's `coordinate` (a probe round 2
 * or a returning player): the best predicted by `rankEdges`. With `landmarks` (a cold player's round 1):
 * edges spread over the coordinate space (`spreadLandmarks`). Else, with a location, the nearby edges
 * (coarse radius first) ranked on the predicted RTT, the last pick an exploration further down
 * (predictions can be wrong); without one, a spread over regions. `exclude` leaves out edges already
 * probed. With `measured` (round 2, a returning player): the lowest RTT lower bounds (`rankByBound`).
 * Counts the demand.
 */
export async function findCandidates(parameters: FindCandidatesParameters): Promise<Candidate[]> {
  const { request, index, store, config, coordinates, pricing, random } = parameters;
  const limit = request.limit ?? 5;
  const mask = eligibleMask(index, parameters.allocator.gameMask(index, request.gameId), request, pricing);
  for (const id of request.exclude ?? []) {
    const i = index.indexOf(id.toLowerCase());
    if (i !== undefined) mask[i] = 0;
  }
  const hint =
    request.lat !== undefined && request.lon !== undefined
      ? geoCoordinate(request.lat, request.lon)
      : undefined;
  let chosen: { state: EdgeState; bound?: number | undefined }[] | undefined;
  let player: Coordinate | undefined = request.coordinate ?? hint;
  const measured = (request.measured ?? []).map((m) => ({ edgeId: m.edgeId.toLowerCase(), rttMs: m.rttMs }));
  if (measured.length > 0) chosen = rankByBound(index, mask, coordinates, measured, player, limit);
  if (chosen) {
    // ranked on the measured RTTs' lower bounds
  } else if (request.coordinate) {
    chosen = rankEdges(index, { mask, measured: new Map(), player: request.coordinate, take: limit, random });
  } else if (request.landmarks) {
    chosen = spreadLandmarks(index, mask, limit, hint).map((i) => ({
      state: (index.views[i] as EdgeView).state,
    }));
  } else if (request.lat !== undefined && request.lon !== undefined && hint) {
    const near = await store.edgesNear(request.lat, request.lon, config.candidateRadiusKm, 256);
    const nearMask = new Uint8Array(mask.length);
    let nearCount = 0;
    for (const id of near) {
      const i = index.indexOf(id);
      if (i !== undefined && mask[i] === 1 && nearMask[i] === 0) {
        nearMask[i] = 1;
        nearCount++;
      }
    }
    const ranked = rankEdges(index, {
      mask: nearCount >= limit ? nearMask : mask,
      measured: new Map(),
      player: hint,
      take: limit + 3 * limit,
      random,
    });
    chosen = ranked.slice(0, Math.max(1, limit - 1)).map((r) => ({ state: r.state }));
    const rest = ranked.slice(chosen.length);
    if (chosen.length < limit && rest.length > 0) {
      const pick = rest[Math.floor(random() * rest.length)] as (typeof rest)[number];
      chosen.push({ state: pick.state });
    }
  } else {
    player = undefined;
    const pool = index.views.filter((_, i) => mask[i] === 1).map((v) => v.state);
    chosen = spreadOverRegions(pool, limit, random).map((state) => ({ state }));
  }
  const top = chosen[0];
  const bounds = new Map(chosen.map((c) => [c.state.edge.id, c.bound]));
  if (top) pricing.countDemand(top.state.edge.region);
  return chosen.map(({ state }) => {
    const candidate: Candidate = {
      edgeId: state.edge.id,
      region: state.edge.region,
      probeUrl: `${state.edge.publicUrl.replace(/\/$/, '')}/v1/probe`,
      pricePerMinute: pricing.price(state),
      priceMultiplier: pricing.multiplier(state.edge.region),
    };
    const coordinate = coordinates.get(state.edge.id);
    if (coordinate) {
      candidate.coordinate = { v: coordinate.v.slice(0, 3), h: coordinate.h, e: coordinate.e };
      if (player) candidate.predictedRttMs = Math.round(predictRtt(player, coordinate) * 10) / 10;
    }
    const bound = bounds.get(state.edge.id);
    if (bound !== undefined) candidate.rttLowerBoundMs = Math.round(bound * 10) / 10;
    return candidate;
  });
}

/**
 * The `limit` eligible edges with the lowest RTT lower bound from the player's measurements and the edges'
 * RTTs to each other (`CoordinateModel.rttLowerBound`), ties broken by the coordinate's
 * prediction; an edge without a bound ranks by its prediction alone. Undefined when no edge has a bound
 * (no peer RTTs known yet): the caller ranks as without measurements.
 */
function rankByBound(
  index: EdgeIndex,
  mask: Uint8Array,
  coordinates: CoordinateModel,
  measured: readonly { edgeId: string; rttMs: number }[],
  player: Coordinate | undefined,
  limit: number,
): { state: EdgeState; bound: number | undefined }[] | undefined {
  const scored: { state: EdgeState; bound: number | undefined; key: number; predicted: number }[] = [];
  let anyBound = false;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const state = (index.views[i] as EdgeView).state;
    const bound = coordinates.rttLowerBound(state.edge.id, measured);
    const c = coordinates.get(state.edge.id);
    const predicted = player && c ? predictRtt(player, c) : Number.POSITIVE_INFINITY;
    if (bound !== undefined) anyBound = true;
    scored.push({ state, bound, key: bound ?? predicted, predicted });
  }
  if (!anyBound) return undefined;
  scored.sort((a, b) => a.key - b.key || a.predicted - b.predicted);
  return scored.slice(0, limit).map(({ state, bound }) => ({ state, bound }));
}

/** Landmarks scanned at most (a stride sample of larger networks; farthest-point costs k × n). */
const LANDMARK_POOL = 4096;

/**
 * `k` eligible edges spread over the coordinate space, for a cold player's first probes: farthest-point
 * seeds from the edge nearest the hint (else the centre of all eligible edges), refined by k-means; the
 * edge nearest each cluster's centre, largest clusters first. View indices.
 */
export function spreadLandmarks(
  index: EdgeIndex,
  mask: Uint8Array,
  k: number,
  hint: Coordinate | undefined,
): number[] {
  const flat = index.flat;
  const pool: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] === 1 && index.full[i] === 0) pool.push(i);
  const stride = Math.max(1, Math.ceil(pool.length / LANDMARK_POOL));
  const sample = stride === 1 ? pool : pool.filter((_, j) => j % stride === 0);
  if (sample.length === 0) return [];
  let centre = hint?.v;
  if (!centre) {
    centre = [0, 0, 0];
    for (const i of sample)
      for (let d = 0; d < 3; d++)
        centre[d] = (centre[d] as number) + (flat[i * 5 + d] as number) / sample.length;
  }
  const distance = (i: number, c: readonly number[]) =>
    Math.hypot(
      (flat[i * 5] as number) - (c[0] ?? 0),
      (flat[i * 5 + 1] as number) - (c[1] ?? 0),
      (flat[i * 5 + 2] as number) - (c[2] ?? 0),
    );
  // Farthest-point seeds over the edges without outliers (farther from the centre than 3× the median
  // distance: a badly placed edge would take a landmark), then a few k-means steps; each landmark is the
  // edge nearest its cluster's centre (clusters by size), so the landmarks stand for where edges are.
  const fromCentre = sample.map((i) => distance(i, centre as number[]));
  const median = [...fromCentre].sort((a, b) => a - b)[fromCentre.length >> 1] as number;
  const core = sample.filter((_, j) => (fromCentre[j] as number) <= 3 * median + 1);
  let first = core[0] as number;
  for (const i of core) if (distance(i, centre) < distance(first, centre)) first = i;
  const seeds = [first];
  const nearest = new Float64Array(core.length).fill(Number.POSITIVE_INFINITY);
  while (seeds.length < Math.min(k, core.length)) {
    const last = seeds[seeds.length - 1] as number;
    const at = [flat[last * 5] as number, flat[last * 5 + 1] as number, flat[last * 5 + 2] as number];
    let far = -1;
    core.forEach((i, j) => {
      nearest[j] = Math.min(nearest[j] as number, distance(i, at));
      if (far < 0 || (nearest[j] as number) > (nearest[far] as number)) far = j;
    });
    if (far < 0 || (nearest[far] as number) === 0) break; // the rest sit on edges already taken
    seeds.push(core[far] as number);
  }
  const centres = seeds.map((i) => [
    flat[i * 5] as number,
    flat[i * 5 + 1] as number,
    flat[i * 5 + 2] as number,
  ]);
  let cluster = new Int32Array(core.length);
  for (let step = 0; step < 6; step++) {
    cluster = Int32Array.from(core, (i) => {
      let best = 0;
      centres.forEach((c, j) => {
        if (distance(i, c) < distance(i, centres[best] as number[])) best = j;
      });
      return best;
    });
    centres.forEach((c, j) => {
      const members = core.filter((_, m) => cluster[m] === j);
      if (members.length > 0)
        for (let d = 0; d < 3; d++)
          c[d] = members.reduce((sum, i) => sum + (flat[i * 5 + d] as number), 0) / members.length;
    });
  }
  const taken = centres
    .map((c, j) => {
      const members = core.filter((_, m) => cluster[m] === j);
      const medoid = members.reduce((a, b) => (distance(b, c) < distance(a, c) ? b : a), members[0] ?? -1);
      return { medoid, size: members.length };
    })
    .filter((x) => x.medoid >= 0)
    .sort((a, b) => b.size - a.size)
    .map((x) => x.medoid);
  return taken;
}

/** Per view: 1 where an edge can take the player now (usable, not full, runs the game, passes the filters). */
function eligibleMask(
  index: EdgeIndex,
  gameMask: Uint8Array | null,
  filters: CandidateFilters,
  pricing: Pricing,
): Uint8Array {
  const maxPrice = filters.maxPricePerMinute === undefined ? undefined : BigInt(filters.maxPricePerMinute);
  return Uint8Array.from(index.views, (view, i) => {
    const e = view.state;
    if (index.usable[i] === 0 || index.full[i] === 1 || (gameMask !== null && gameMask[i] === 0)) return 0;
    if (filters.encoder && !e.edge.encoders.includes(filters.encoder)) return 0;
    if (maxPrice !== undefined && BigInt(pricing.price(e)) > maxPrice) return 0;
    return 1;
  });
}
