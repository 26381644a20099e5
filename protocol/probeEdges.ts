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
  /**
   * The best edges this page measured last time (`ProbeEdgesResult.best`): a warm player probes them again
   * and explores the best predicted edges it has not probed before, so each session can only do better.
   */
  rememberedEdges?: readonly Candidate[] | undefined;
  /** Edge ids probed last time (`ProbeEdgesResult.measurements`): a warm round 1 looks past them. */
  probedBefore?: readonly string[] | undefined;
  /** Where a cold fit starts (e.g. the geography of the page's location hint). */
  initial?: NetworkCoordinate | undefined;
  /** Landmarks a cold player probes first (default 4: a 3-D coordinate + height). */
  landmarks?: number;
  /** Most probes over both rounds (default 10). */
  maxProbes?: number;
  /** Probes of a warm player's first round (default 4). */
  warmProbes?: number;
  /** Probes per later round (default: all that are left). */
  perRound?: number;
  /** Most probe rounds (default 2). */
  rounds?: number;
}

export interface ProbeEdgesResult {
  /** Every RTT measured, for `POST /v1/sessions`. */
  measurements: RttMeasurement[];
  /** The player's coordinate fitted from them (to keep for the next session), if any edge had one. */
  coordinate: NetworkCoordinate | undefined;
  /** The best measured edges (at most 2), to remember for the next session. */
  best: Candidate[];
  /** Probe rounds run. */
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
  const learn = (listed: readonly Candidate[]) => {
    for (const c of listed) if (c.coordinate) coordinates.set(c.edgeId, c.coordinate);
  };
  const fitCoordinate = (initial: NetworkCoordinate | undefined) => {
    const anchors = measurements.flatMap((m) => {
      const coordinate = coordinates.get(m.edgeId);
      return coordinate ? [{ coordinate, rttMs: m.rttMs }] : [];
    });
    return anchors.length === 0 ? initial : solveCoordinate(anchors, initial);
  };

  const again = remembered ? (options.rememberedEdges ?? []).slice(0, 2) : [];
  const listed = await transport.candidates(
    remembered
      ? {
          coordinate: remembered,
          limit: Math.min(maxProbes - again.length, options.warmProbes ?? 4),
          exclude: [...new Set([...again.map((c) => c.edgeId), ...(options.probedBefore ?? [])])].slice(
            0,
            32,
          ),
        }
      : { landmarks: true, limit: Math.min(maxProbes, options.landmarks ?? 4) },
  );
  const first = [...again, ...listed].slice(0, maxProbes);
  learn(first);
  const seen = new Map(first.map((c) => [c.edgeId, c]));
  if (first.length > 0) measurements.push(...(await transport.probe(first)));
  let coordinate = fitCoordinate(remembered ?? options.initial);
  let rounds = 1;
  // Later rounds: the best predicted edges not probed yet, `perRound` at a time, refitting after each. A
  // warm player (and any player after its second round) probes only those the fit says could beat its best
  // measured one (with a margin: a fit from a few probes is over-confident); a cold player's landmarks were
  // chosen to locate it, not to be near it, so its second round probes the best predicted whatever they say.
  const maxRounds = options.rounds ?? 2;
  while (
    coordinate !== undefined &&
    coordinates.size > 0 &&
    measurements.length < maxProbes &&
    rounds < maxRounds
  ) {
    const left = maxProbes - measurements.length;
    const more = await transport.candidates({
      coordinate,
      exclude: measurements.map((m) => m.edgeId),
      limit: Math.min(left, options.perRound ?? left),
    });
    learn(more);
    for (const c of more) seen.set(c.edgeId, c);
    const best = Math.min(...measurements.map((m) => m.rttMs));
    const from = coordinate;
    const worth = more.filter((c) => {
      const edge = coordinates.get(c.edgeId);
      if ((!remembered && rounds === 1) || !edge) return true;
      const predicted = predictRtt(from, edge);
      return predicted - Math.max(3, 0.3 * predicted) < best;
    });
    if (worth.length === 0) break;
    const probed = await transport.probe(worth.slice(0, left));
    if (probed.length === 0) break;
    measurements.push(...probed);
    coordinate = fitCoordinate(coordinate);
    rounds++;
  }
  const best = [...measurements]
    .sort((x, y) => x.rttMs - y.rttMs)
    .slice(0, 2)
    .flatMap((m) => {
      const c = seen.get(m.edgeId);
      return c ? [c] : [];
    });
  return { measurements, coordinate, best, rounds };
}
