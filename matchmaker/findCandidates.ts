import type { Candidate, CandidatesRequest } from '../protocol/playerApi.js';
import type { Allocator } from './Allocator.js';
import type { MatchmakerConfig } from './config.js';
import { type Coordinate, type CoordinateModel, geoCoordinate, predictRtt } from './coordinates.js';
import type { EdgeIndex } from './EdgeIndex.js';
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
 * K candidate edges for a player to probe, all with room for the game: with a location, the nearby
 * edges (coarse radius first) ranked by `rankEdges` on the predicted RTT, the last pick an exploration
 * further down (predictions can be wrong); without one, a spread over regions. Counts the demand.
 */
export async function findCandidates(parameters: FindCandidatesParameters): Promise<Candidate[]> {
  const { request, index, store, config, coordinates, pricing, random } = parameters;
  const limit = request.limit ?? 5;
  const mask = eligibleMask(index, parameters.allocator.gameMask(index, request.gameId), request, pricing);
  let chosen: { state: EdgeState; predicted?: number }[];
  if (request.lat !== undefined && request.lon !== undefined) {
    const player: Coordinate = geoCoordinate(request.lat, request.lon);
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
      player,
      take: limit + 3 * limit,
      random,
    });
    chosen = ranked.slice(0, Math.max(1, limit - 1)).map((r) => ({ state: r.state }));
    const rest = ranked.slice(chosen.length);
    if (chosen.length < limit && rest.length > 0) {
      const pick = rest[Math.floor(random() * rest.length)] as (typeof rest)[number];
      chosen.push({ state: pick.state });
    }
    for (const c of chosen) {
      const coordinate = coordinates.get(c.state.edge.id);
      if (coordinate) c.predicted = predictRtt(player, coordinate);
    }
  } else {
    const pool = index.views.filter((_, i) => mask[i] === 1).map((v) => v.state);
    chosen = spreadOverRegions(pool, limit, random).map((state) => ({ state }));
  }
  const top = chosen[0];
  if (top) pricing.countDemand(top.state.edge.region);
  return chosen.map(({ state, predicted }) => {
    const candidate: Candidate = {
      edgeId: state.edge.id,
      region: state.edge.region,
      probeUrl: `${state.edge.publicUrl.replace(/\/$/, '')}/v1/probe`,
      pricePerMinute: pricing.price(state),
      priceMultiplier: pricing.multiplier(state.edge.region),
    };
    if (predicted !== undefined) candidate.predictedRttMs = Math.round(predicted * 10) / 10;
    return candidate;
  });
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
