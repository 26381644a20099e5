import { type NetworkCoordinate, predictRtt, solveCoordinate } from './networkCoordinates.js';
import type { Candidate, CandidatesRequest, RttMeasurement } from './playerApi.js';

/** What one round asks the matchmaker for (`POST /v1/candidates` without the game). */
export type ProbeRoundRequest = Pick<CandidatesRequest, 'landmarks' | 'coordinate' | 'exclude' | 'limit'>;

/** How `probeEdges` reaches the matchmaker and the edges (the page: fetch; the bench: its matrix). */
export interface ProbeEdgesTransport {
  /** `POST /v1/candidates` with the page's game and location hint plus this round's request. */
  candidates(request: ProbeRoundRequest): Promise<Candidate[]>;
  /** Measures the RTT to each candidate (one round, in parallel); the ones that did not answer are left out. */
  probe(candidates: readonly Candidate[]): Promise<RttMeasurement[]>;
}

export interface ProbeEdgesOptions {
  /** The coordinate this page fitted in an earlier session (a returning player starts warm). */
  remembered?: NetworkCoordinate | undefined;
  /** Where a cold fit starts (e.g. the geography of the page's location hint). */
  initial?: NetworkCoordinate | undefined;
  /** Landmarks a cold player probes first (default 4: a 3-D coordinate + height). */
  landmarks?: number;
  /** Most probes over both rounds (default 10). */
  maxProbes?: number;
  /** Probes of a warm player's first round (default 4). */
  warmProbes?: number;
}

export interface ProbeEdgesResult {
  /** Every RTT measured, for `POST /v1/sessions`. */
  measurements: RttMeasurement[];
  /** The player's coordinate fitted from them (to keep for the next session), if any edge had one. */
  coordinate: NetworkCoordinate | undefined;
  /** Probe rounds run (1 or 2). */
  rounds: number;
}

/**
 * Finds the edges worth measuring in two probe rounds, the page's real path and the benchmark's: a cold
 * player first probes a few landmark edges spread over the coordinate space, fits its coordinate to them,
 * then probes the edges that fit predicts best; a returning player starts from its remembered coordinate
 * (its best predicted edges) and probes a second round only where the refit still predicts an unprobed
 * edge that could beat the best measured. At most `maxProbes` probes. Candidates without a coordinate (a
 * standalone edge) are measured and returned as they are.
 */
export async function probeEdges(
  transport: ProbeEdgesTransport,
  options: ProbeEdgesOptions = {},
): Promise<ProbeEdgesResult> {
  const maxProbes = options.maxProbes ?? 10;
  const remembered = options.remembered;
  const coordinates = new Map<string, NetworkCoordinate>();
  const measurements: RttMeasurement[] = [];
  const round = async (request: ProbeRoundRequest) => {
    const listed = (await transport.candidates(request)).filter(
      (c) => !measurements.some((m) => m.edgeId === c.edgeId),
    );
    for (const c of listed) if (c.coordinate) coordinates.set(c.edgeId, c.coordinate);
    const fresh = listed.slice(0, maxProbes - measurements.length);
    measurements.push(...(fresh.length > 0 ? await transport.probe(fresh) : []));
    return listed;
  };
  const fit = (initial: NetworkCoordinate | undefined) => {
    const anchors = measurements.flatMap((m) => {
      const coordinate = coordinates.get(m.edgeId);
      return coordinate ? [{ coordinate, rttMs: m.rttMs }] : [];
    });
    return anchors.length === 0 ? initial : solveCoordinate(anchors, initial);
  };

  const first = remembered
    ? await round({ coordinate: remembered, limit: Math.min(maxProbes, options.warmProbes ?? 4) })
    : await round({ landmarks: true, limit: Math.min(maxProbes, options.landmarks ?? 4) });
  if (first.length === 0 || coordinates.size === 0) {
    return { measurements, coordinate: fit(remembered ?? options.initial), rounds: 1 };
  }
  let coordinate = fit(remembered ?? options.initial);
  const left = maxProbes - measurements.length;
  if (coordinate === undefined || left <= 0) return { measurements, coordinate, rounds: 1 };
  const second = await transport.candidates({
    coordinate,
    exclude: measurements.map((m) => m.edgeId),
    limit: left,
  });
  for (const c of second) if (c.coordinate) coordinates.set(c.edgeId, c.coordinate);
  // A warm player probes again only edges the fit says could beat its best measured one (its margin:
  // a fit from a few probes is over-confident); a cold player's landmarks were chosen to locate it, not
  // to be near it, so it probes the best predicted whatever they say.
  const best = Math.min(...measurements.map((m) => m.rttMs));
  const fit1 = coordinate;
  const worth = second.filter((c) => {
    const edge = coordinates.get(c.edgeId);
    if (!remembered || !edge) return true;
    const predicted = predictRtt(fit1, edge);
    return predicted - Math.max(3, 0.3 * predicted) < best;
  });
  if (worth.length > 0) {
    measurements.push(...(await transport.probe(worth.slice(0, left))));
    coordinate = fit(coordinate);
  }
  return { measurements, coordinate, rounds: worth.length > 0 ? 2 : 1 };
}
