import { Check } from 'typebox/value';
import { geoCoordinate, NetworkCoordinate } from '../../protocol/networkCoordinates.js';
import { Candidate, RttMeasurement } from '../../protocol/playerApi.js';
import { probeEdges } from '../../protocol/probeEdges.js';
import { measureRtt, type PlayerApi } from './api.js';
import type { CoarseLocation } from './timezoneLocation.js';

/** localStorage key of what this page's last probing left (per matchmaker: coordinates are its own). */
const storageKey = (api: PlayerApi) => `farplay.coordinate:${api.base}`;
/** A remembered coordinate older than this starts cold again (edges move, players travel). */
const MAX_AGE_MS = 30 * 24 * 3600_000;

/** What `findEdge` found: the measurements for `POST /v1/sessions` and the fitted coordinate. */
export interface FoundEdges {
  measurements: RttMeasurement[];
  coordinate: NetworkCoordinate | undefined;
  /** Whether the page started from a remembered coordinate. */
  warm: boolean;
}

/**
 * The page's probing before a session request (protocol/probeEdges.ts, the path the matchmaker bench
 * measures): a returning player starts from what its last probing left in localStorage (its fitted
 * coordinate, its best 2 edges, the RTTs it measured), a new one from landmark edges; probes go through
 * `measureRtt` (a warm-up and one sample per edge, a round cut short once the pending edges are slower
 * than the best one known).
 */
export async function findEdge(
  api: PlayerApi,
  gameId: string,
  near: CoarseLocation | undefined,
): Promise<FoundEdges> {
  const last = readLast(api);
  const found = await probeEdges(
    {
      candidates: (round) => api.candidates(gameId, near, round),
      probe: (candidates, cutoff) => measureRtt(candidates, { cutoff }),
    },
    {
      remembered: last?.coordinate,
      rememberedEdges: last?.best,
      rememberedMeasurements: last?.measured,
      initial: near ? geoCoordinate(near.lat, near.lon) : undefined,
    },
  );
  if (found.coordinate) {
    writeLast(api, {
      coordinate: found.coordinate,
      best: found.best,
      measured: found.measurements,
    });
  }
  return { measurements: found.measurements, coordinate: found.coordinate, warm: last !== undefined };
}

/** What the page keeps between sessions: its coordinate, its best 2 edges and the RTTs it measured. */
interface LastProbes {
  coordinate: NetworkCoordinate;
  best: Candidate[];
  measured: RttMeasurement[];
}

function readLast(api: PlayerApi): LastProbes | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(api)) ?? 'null') as
      | (Partial<Record<keyof LastProbes, unknown>> & { savedAt?: unknown })
      | null;
    if (!saved || typeof saved.savedAt !== 'number' || Date.now() - saved.savedAt > MAX_AGE_MS)
      return undefined;
    if (!Check(NetworkCoordinate, saved.coordinate)) return undefined;
    const best = Array.isArray(saved.best) ? saved.best.filter((c) => Check(Candidate, c)).slice(0, 2) : [];
    const measured = Array.isArray(saved.measured)
      ? saved.measured.filter((m) => Check(RttMeasurement, m)).slice(0, 16)
      : [];
    return { coordinate: saved.coordinate, best, measured };
  } catch {
    return undefined; // storage blocked or garbage: start cold
  }
}

function writeLast(api: PlayerApi, last: LastProbes): void {
  try {
    localStorage.setItem(storageKey(api), JSON.stringify({ ...last, savedAt: Date.now() }));
  } catch {
    // storage blocked (private mode): the next session starts cold
  }
}
