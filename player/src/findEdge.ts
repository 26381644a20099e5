import { Check } from 'typebox/value';
import { geoCoordinate, NetworkCoordinate } from '../../protocol/networkCoordinates.js';
import type { RttMeasurement } from '../../protocol/playerApi.js';
import { probeEdges } from '../../protocol/probeEdges.js';
import { measureRtt, type PlayerApi } from './api.js';
import type { CoarseLocation } from './timezoneLocation.js';

/** localStorage key of the coordinate this page fitted (per matchmaker: coordinates are its own). */
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
 * measures): a returning player starts from the coordinate it fitted last time (localStorage), a new one
 * from landmark edges; probes go through `measureRtt` (a warm-up and two samples per edge). The fitted
 * coordinate is kept for the next session.
 */
export async function findEdge(
  api: PlayerApi,
  gameId: string,
  near: CoarseLocation | undefined,
): Promise<FoundEdges> {
  const remembered = readCoordinate(api);
  const found = await probeEdges(
    {
      candidates: (round) => api.candidates(gameId, near, round),
      probe: (candidates) => measureRtt(candidates),
    },
    { remembered, initial: near ? geoCoordinate(near.lat, near.lon) : undefined },
  );
  if (found.coordinate) writeCoordinate(api, found.coordinate);
  return { measurements: found.measurements, coordinate: found.coordinate, warm: remembered !== undefined };
}

function readCoordinate(api: PlayerApi): NetworkCoordinate | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(api)) ?? 'null') as {
      coordinate?: unknown;
      savedAt?: unknown;
    } | null;
    if (!saved || typeof saved.savedAt !== 'number' || Date.now() - saved.savedAt > MAX_AGE_MS)
      return undefined;
    return Check(NetworkCoordinate, saved.coordinate) ? saved.coordinate : undefined;
  } catch {
    return undefined; // storage blocked or garbage: start cold
  }
}

function writeCoordinate(api: PlayerApi, coordinate: NetworkCoordinate): void {
  try {
    localStorage.setItem(storageKey(api), JSON.stringify({ coordinate, savedAt: Date.now() }));
  } catch {
    // storage blocked (private mode): the next session starts cold
  }
}
