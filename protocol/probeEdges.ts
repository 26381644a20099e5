import { type NetworkCoordinate, predictRtt, solveCoordinate } from './networkCoordinates.js';
import type { Candidate, CandidatesRequest, RttMeasurement } from './playerApi.js';

/** What one round asks the matchmaker for (`POST /v1/candidates` without the game). */
export type ProbeRoundRequest = Pick<
  CandidatesRequest,
  'landmarks' | 'coordinate' | 'exclude' | 'limit' | 'measured'
>;

/**
 * When a probe round may stop waiting: once `minAnswers` probes answered and the ones still pending have
 * taken longer than a probe to an edge at `bestMs` would (with slack) — an edge that slow cannot beat the
 * best one measured. `bestMs` is the best RTT of earlier rounds (+∞ in the first); the round's own answers
 * lower it as they come.
 */
export interface ProbeCutoff {
  minAnswers: number;
  bestMs: number;
}

/**
 * A probe's wall time per ms of RTT on a new connection: the page's probe is one GET whose request → first
 * byte (Resource Timing; edges send `Timing-Allow-Origin`) is the sample, after the connection set-up (1 RTT):
 * 2. An edge that hides its timing costs a warm-up GET (2 RTT) and a timed one: 3.
 */
export const PROBE_RTTS = 2;

/**
 * The round-end rule (`ProbeCutoff`), shared by the page's `measureRtt` and the bench's simulation: the wall
 * time (ms since the round started) after which the probes still pending cannot beat an edge at `bestMs` — a
 * probe to it would have answered by `bestMs × perMs` (perMs: a probe's wall time per ms of RTT) — with slack
 * for jitter (× 1.25 + 20 ms).
 */
export function roundEndsAt(bestMs: number, perMs: number): number {
  return bestMs * perMs * 1.25 + 20;
}

/** How `probeEdges` reaches the matchmaker and the edges (the page: fetch; the bench: its matrix). */
export interface ProbeEdgesTransport {
  /** `POST /v1/candidates` with the page's game and location hint plus this round's request. */
  candidates(request: ProbeRoundRequest): Promise<Candidate[]>;
  /**
   * Measures the RTT to each candidate (one round, in parallel); the ones that did not answer, or not
   * before `cutoff` let the round stop, are left out.
   */
  probe(candidates: readonly Candidate[], cutoff: ProbeCutoff): Promise<RttMeasurement[]>;
}

export interface ProbeEdgesOptions {
  /** The coordinate this page fitted in an earlier session (a returning player starts warm). */
  remembered?: NetworkCoordinate | undefined;
  /**
   * The best edges this page measured last time (`ProbeEdgesResult.best`): a warm player probes them again
   * and explores the best ranked edges it has not probed before, so each session can only do better.
   */
  rememberedEdges?: readonly Candidate[] | undefined;
  /**
   * The RTTs this page measured last time (`ProbeEdgesResult.measurements`): a warm round 1 looks past
   * these edges and ranks the others on the lower bounds they give (`CandidatesRequest.measured`).
   */
  rememberedMeasurements?: readonly RttMeasurement[] | undefined;
  /** Where a cold fit starts (e.g. the geography of the page's location hint). */
  initial?: NetworkCoordinate | undefined;
  /** Landmarks a cold player probes first (default 6). */
  landmarks?: number;
  /** Landmark answers a cold round 1 waits for before its cutoff applies (default 2). */
  landmarkAnswers?: number;
  /** Most probes over both rounds (default 10). */
  maxProbes?: number;
  /** Probes of a warm player's first round, besides its remembered best edges (default 4). */
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
 * player first probes a few landmark edges spread over the coordinate space, then sends their RTTs back
 * (`measured`) and probes the edges with the lowest RTT lower bound (from its RTTs and the edges' RTTs to
 * each other; the coordinate it fits stands in where the matchmaker has no edge-to-edge RTTs); a returning
 * player re-probes its remembered best edges beside the best ranked from its last measurements. A later
 * round probes only edges that could beat the best measured (bound below it, or, without a bound, a
 * predicted RTT within a margin). At most `maxProbes` probes; a round stops waiting for edges already
 * slower than the best measured (`ProbeCutoff`). Candidates without a coordinate (a standalone edge) are
 * measured and returned as they are.
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
  const bestMs = () => Math.min(...measurements.map((m) => m.rttMs));
  // What the ranking may use: this session's RTTs, and last session's for edges not measured again.
  const known = () => {
    const now = new Set(measurements.map((m) => m.edgeId));
    const old = remembered ? (options.rememberedMeasurements ?? []).filter((m) => !now.has(m.edgeId)) : [];
    return [...measurements, ...old].slice(0, 32);
  };

  const again = remembered ? (options.rememberedEdges ?? []).slice(0, 2) : [];
  const listed = await transport.candidates(
    remembered
      ? {
          coordinate: remembered,
          limit: Math.min(maxProbes - again.length, options.warmProbes ?? 4),
          exclude: [
            ...new Set([
              ...again.map((c) => c.edgeId),
              ...(options.rememberedMeasurements ?? []).map((m) => m.edgeId),
            ]),
          ].slice(0, 32),
          ...(known().length > 0 ? { measured: known() } : {}),
        }
      : { landmarks: true, limit: Math.min(maxProbes, options.landmarks ?? 6) },
  );
  const first = [...again, ...listed.filter((c) => !again.some((a) => a.edgeId === c.edgeId))].slice(
    0,
    maxProbes,
  );
  learn(first);
  const seen = new Map(first.map((c) => [c.edgeId, c]));
  // Landmarks: wait for the nearest `landmarkAnswers`, then only for those that could still beat the best
  // (a far landmark's RTT says little the edges' RTTs to the near ones do not). A warm round has its best
  // edges in it.
  if (first.length > 0)
    measurements.push(
      ...(await transport.probe(first, {
        minAnswers: remembered ? 1 : Math.min(first.length, options.landmarkAnswers ?? 2),
        bestMs: Number.POSITIVE_INFINITY,
      })),
    );
  let coordinate = fitCoordinate(remembered ?? options.initial);
  let rounds = 1;
  const maxRounds = options.rounds ?? 2;
  while (measurements.length > 0 && measurements.length < maxProbes && rounds < maxRounds) {
    const left = maxProbes - measurements.length;
    const more = await transport.candidates({
      ...(coordinate ? { coordinate } : {}),
      measured: known(),
      exclude: [...new Set([...measurements.map((m) => m.edgeId), ...again.map((c) => c.edgeId)])].slice(
        0,
        32,
      ),
      limit: Math.min(left, options.perRound ?? left),
    });
    learn(more);
    for (const c of more) seen.set(c.edgeId, c);
    const best = bestMs();
    const from = coordinate;
    // Worth probing: a bound below the best measured; without one, a prediction that could beat it (with a
    // margin: a fit from a few probes is over-confident); a cold player's second round without bounds
    // probes the best predicted whatever they say (its landmarks were chosen to locate it, not to be near).
    const worth = more.filter((c) => {
      if (c.rttLowerBoundMs !== undefined) return c.rttLowerBoundMs < best;
      const edge = coordinates.get(c.edgeId);
      if ((!remembered && rounds === 1) || !edge || !from) return true;
      const predicted = predictRtt(from, edge);
      return predicted - Math.max(3, 0.3 * predicted) < best;
    });
    if (worth.length === 0) break;
    const probed = await transport.probe(worth.slice(0, left), { minAnswers: 1, bestMs: best });
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
