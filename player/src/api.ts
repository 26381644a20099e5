import { type ErrorCode, ErrorCodes, FarplayError } from '../../protocol/errors.js';
import type { NetworkCoordinate } from '../../protocol/networkCoordinates.js';
import type {
  Candidate,
  CandidatesResponse,
  CreateSessionResponse,
  GameInfo,
  ListGamesResponse,
  RttMeasurement,
} from '../../protocol/playerApi.js';
import {
  PROBE_RTTS,
  type ProbeCutoff,
  type ProbeRoundRequest,
  roundEndsAt,
} from '../../protocol/probeEdges.js';
import { encodeSessionProof, type SessionProof } from '../../protocol/sessionProof.js';
import type { SessionKey } from './SessionKey.js';
import type { CoarseLocation } from './timezoneLocation.js';

/**
 * Client of the player-facing API (protocol/playerApi.ts), served by the matchmaker or, in
 * standalone mode, by a single edge. `base` is the API origin (default: the page's origin).
 */
export class PlayerApi {
  readonly base: string;

  constructor(base: string = window.location.origin) {
    this.base = base.replace(/\/+$/, '');
  }

  /** GET /v1/games: the catalog. */
  async listGames(): Promise<GameInfo[]> {
    const body = await this.#json<ListGamesResponse>('GET', '/v1/games');
    return body.games;
  }

  /** POST /v1/candidates: edges that could host `gameId` (`round`: landmarks, or ranked from a coordinate). */
  async candidates(
    gameId: string,
    near?: CoarseLocation,
    round: ProbeRoundRequest = {},
  ): Promise<Candidate[]> {
    const body = await this.#json<CandidatesResponse>('POST', '/v1/candidates', {
      gameId,
      // A time-zone guess: the matchmaker's location of this client's address replaces it when it has one.
      ...(near ? { lat: near.lat, lon: near.lon, locationSource: 'timezone' } : {}),
      ...round,
    });
    return body.candidates;
  }

  /**
   * POST /v1/sessions: allocates a slot on an edge for `key` (its address is the session's owner). When
   * reconnecting a dropped session, `replaces` names it and `replacesProof` is its key's signed 'replace'.
   * `payer`: the page wallet whose escrow deposit pays (a billed network).
   */
  async createSession(
    gameId: string,
    measurements: RttMeasurement[],
    key: SessionKey,
    replace?: { sessionId: string; proof: SessionProof },
    payer?: string,
    near?: CoarseLocation,
    coordinate?: NetworkCoordinate,
  ): Promise<CreateSessionResponse> {
    const request: Record<string, unknown> = { gameId, measurements, sessionKey: key.address };
    if (coordinate !== undefined) request.coordinate = coordinate;
    if (payer !== undefined) request.payer = payer;
    if (near) {
      request.lat = near.lat;
      request.lon = near.lon;
    }
    if (replace !== undefined) {
      request.replaces = replace.sessionId;
      request.replacesProof = replace.proof;
    }
    return this.#json<CreateSessionResponse>('POST', '/v1/sessions', request);
  }

  /**
   * POST /v1/sessions/:id/end with the session key's signed 'end': frees the slot at once. `keepalive`
   * lets it leave a closing page.
   */
  async endSession(sessionId: string, proof: SessionProof): Promise<void> {
    await this.#json('POST', `/v1/sessions/${encodeURIComponent(sessionId)}/end`, { proof }, true);
  }

  /** WebSocket URL of the session events stream (matchmaker only; `moved` / `ended`), with the 'watch' proof. */
  sessionEventsUrl(sessionId: string, proof: SessionProof): string {
    const url = new URL(`${this.base}/v1/sessions/${encodeURIComponent(sessionId)}/events`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('proof', encodeSessionProof(proof));
    return url.toString();
  }

  async #json<T>(method: 'GET' | 'POST', path: string, body?: unknown, keepalive = false): Promise<T> {
    const init: RequestInit = {
      method,
      headers: { accept: 'application/json' },
      cache: 'no-store',
      keepalive,
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    }
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, init);
    } catch (cause) {
      throw new FarplayError('INTERNAL', `cannot reach ${this.base} (${String(cause)})`, { cause });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw errorFromBody(response.status, parsed);
    return parsed as T;
  }
}

/** A FarplayError from an error answer `{ code, message }` (unknown codes keep their message). */
export function errorFromBody(status: number, body: unknown): FarplayError {
  if (typeof body === 'object' && body !== null) {
    const { code, message } = body as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : undefined;
    if (typeof code === 'string' && code in ErrorCodes) return new FarplayError(code as ErrorCode, text);
    if (text !== undefined) return new FarplayError(status >= 500 ? 'INTERNAL' : 'BAD_REQUEST', text);
  }
  return new FarplayError(status >= 500 ? 'INTERNAL' : 'BAD_REQUEST', `HTTP ${status}`);
}

/** Options of `measureRtt`. */
export interface MeasureRttOptions {
  /** RTT samples per candidate (default 1; with more, the smallest is reported). */
  samples?: number;
  /** Give up on one probe after this many ms (default 2000). */
  timeoutMs?: number;
  /**
   * Stop waiting once this many answered and the candidates still pending have taken longer than a probe
   * to an edge at the best RTT known would (× 1.25 + 20 ms): they cannot beat it (protocol/probeEdges.ts).
   */
  cutoff?: ProbeCutoff;
}

/**
 * Measures the RTT to each candidate, all in parallel: `samples` RTTs of its probeUrl, the smallest reported
 * (queueing only ever adds). The first GET opens the connection; where the edge shows its Resource Timing
 * (`Timing-Allow-Origin`) that GET's request → first byte is the first sample (a probe: set-up + 1 RTT),
 * else it is a warm-up and the next GET is timed. Candidates that do not answer, or not before `cutoff` ends
 * the round, are left out (their requests aborted).
 */
export async function measureRtt(
  candidates: readonly Candidate[],
  options: MeasureRttOptions = {},
): Promise<RttMeasurement[]> {
  const samples = options.samples ?? 1;
  const timeoutMs = options.timeoutMs ?? 2000;
  const cutoff = options.cutoff;
  const stop = new AbortController();
  // The Resource Timing buffer (250 entries) fills over a long page life (the clock estimate polls the edge):
  // a full buffer drops new entries, and each probe would take a second GET. Nothing else on the page reads it.
  performance.clearResourceTimings?.();
  const started = performance.now();
  const answered: { rttMs: number; wallMs: number }[] = [];
  let settled = 0;
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  // When the pending probes are slower than a probe to the best edge known: the round may end.
  const check = () => {
    if (settled === candidates.length) return finish();
    if (!cutoff || answered.length < cutoff.minAnswers) return;
    const best = Math.min(cutoff.bestMs, ...answered.map((a) => a.rttMs));
    // A probe's wall time per ms of RTT, as the answered ones took (warm-up + samples).
    const perMs = Math.max(PROBE_RTTS, ...answered.map((a) => a.wallMs / Math.max(a.rttMs, 1)));
    const wait = roundEndsAt(best, perMs) - (performance.now() - started);
    if (timer) clearTimeout(timer);
    if (wait <= 0) finish();
    else timer = setTimeout(check, wait);
  };
  const results: (RttMeasurement | undefined)[] = new Array(candidates.length).fill(undefined);
  candidates.forEach(async (candidate, index) => {
    const times: number[] = [];
    try {
      for (let i = 0; i <= samples && times.length < samples; i++) {
        const sent = performance.now();
        // A unique URL per GET: its Resource Timing entry is this request's.
        const url = `${candidate.probeUrl}${candidate.probeUrl.includes('?') ? '&' : '?'}n=${nonce++}`;
        const response = await fetch(url, {
          cache: 'no-store',
          mode: 'cors',
          signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]),
        });
        await response.arrayBuffer();
        if (!response.ok) return;
        if (i > 0) times.push(performance.now() - sent);
        else {
          // The first GET opens the connection; its request → first byte is one RTT on it when the edge lets
          // the page see its timing (Timing-Allow-Origin): then it is the first sample, no second GET.
          const sample = requestRtt(url);
          if (sample !== undefined) times.push(sample);
        }
      }
      const rttMs = Math.round(Math.min(...times) * 100) / 100;
      results[index] = { edgeId: candidate.edgeId, rttMs };
      answered.push({ rttMs, wallMs: performance.now() - started });
    } catch {
      // no answer (or the round ended first): left out
    } finally {
      settled++;
      check();
    }
  });
  if (candidates.length > 0) await done;
  if (timer) clearTimeout(timer);
  stop.abort();
  return results.filter((result): result is RttMeasurement => result !== undefined);
}

/** Probe GETs this page sent (their URLs are unique, so each has its own Resource Timing entry). */
let nonce = 0;

/**
 * One request's RTT from its Resource Timing entry (request sent → first byte of the answer), or undefined
 * where the browser hides it (no Timing-Allow-Origin from the edge, no Resource Timing, its buffer full): the
 * caller then times a second GET.
 */
function requestRtt(url: string): number | undefined {
  try {
    const entry = performance.getEntriesByName(url, 'resource').at(-1) as
      | PerformanceResourceTiming
      | undefined;
    if (!entry || entry.requestStart <= 0 || entry.responseStart <= entry.requestStart) return undefined;
    return entry.responseStart - entry.requestStart;
  } catch {
    return undefined;
  }
}

/** Median of `values` (0 for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
