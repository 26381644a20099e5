import type { Logger } from 'pino';
import type { LocalAccount } from 'viem';
import type { SignedCapabilitySnapshot } from '../../protocol/capabilitySnapshot.js';
import { deploymentOf } from '../../protocol/deployment.js';
import {
  EDGE_SHUTDOWN_REASON,
  type EdgeHeartbeatPayload,
  type EdgeRegistrationPayload,
  type EdgeSessionReportPayload,
  randomNonce,
  signEdgeMessage,
} from '../../protocol/edgeRegistration.js';
import type { ErrorBody } from '../../protocol/errors.js';
import type { HeartbeatResponse, MatchmakerInfo } from '../../protocol/matchmakerApi.js';
import type { GameInfo } from '../../protocol/playerApi.js';
import type { EdgeEvents } from '../Edge.js';
import { PeerRtts } from './PeerRtts.js';

/** The figures edge/control registers and heartbeats (what `Edge.info()` gives). */
export interface ControlledEdgeInfo {
  region: string;
  lat: number;
  lon: number;
  gpu: string;
  /** ATH wei per minute, decimal string. */
  pricePerMinute: string;
  /** H.264 encoders that really work, in order of preference. */
  encoders: readonly string[];
  capacity: number;
  activeSessions: number;
  freeSlots: number;
  encodeHeadroom: number;
  games: readonly GameInfo[];
  /** Package runtimes the edge runs (e.g. ['x11']). */
  runtimes?: readonly string[];
}

/** What edge/control needs of an edge; `Edge` (edge/Edge.ts) is one. */
export interface ControlledEdge {
  readonly id: string;
  /** The matchmaker's session-token key this edge pins (its deployment signs every control message). */
  readonly sessionPublicKey: string;
  /** The edge's base URL once it listens (its publicUrl when configured). */
  readonly url: string | undefined;
  info(): ControlledEdgeInfo;
  /** Ids of the sessions running now (each heartbeat carries them). */
  sessionIds(): string[];
  /** Subscribes to session starts and ends; returns the unsubscribe function. */
  on<K extends keyof EdgeEvents>(event: K, listener: (...args: EdgeEvents[K]) => unknown): () => void;
  endSession(sessionId: string, reason: string): unknown;
}

export interface StartEdgeControlParameters {
  edge: ControlledEdge;
  /** The edge's node key; its address must be `edge.id`. */
  account: LocalAccount;
  /** Matchmaker base URL, e.g. http://127.0.0.1:8080. */
  matchmakerUrl: string;
  /**
   * The deployment every message is signed for (default: derived from `edge.sessionPublicKey`, the key the
   * edge pins), so a message this edge signs is refused by any other matchmaker (MM_WRONG_DEPLOYMENT).
   */
  deployment?: string;
  /** Heartbeat period, ms (default: what the matchmaker asks for, 2000). */
  heartbeatMs?: number;
  /**
   * How often the edge measures the peers the matchmaker names (edge-to-edge coordinate anchors), ms
   * (default 30 000).
   */
  peerProbeMs?: number;
  /** Software version reported (default 'farplay-edge/0.1.0'). */
  version?: string;
  /** Capability snapshot (`farplay-edge bench`) sent with each registration; the matchmaker checks capacity against it. */
  capability?: SignedCapabilitySnapshot;
  logger?: Logger;
}

export interface EdgeControl {
  /** Resolves after the first successful registration. */
  readonly registered: Promise<void>;
  readonly closed: boolean;
  /**
   * Stops heartbeats, reports every running session ended (reason `edge-shutdown`: the matchmaker moves
   * its player at once), then stops reporting; idempotent. The matchmaker drops the edge after its TTL.
   */
  close(): Promise<void>;
}

/** GET /v1/matchmaker: the session-token public key (for the edge's offline verification) and timings. */
export async function fetchMatchmakerInfo(matchmakerUrl: string): Promise<MatchmakerInfo> {
  // Bounded like every other matchmaker call: a hung connection would stall start-up past main's retries.
  const response = await fetch(new URL('/v1/matchmaker', matchmakerUrl), {
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`matchmaker info: HTTP ${response.status}`);
  return (await response.json()) as MatchmakerInfo;
}

class MatchmakerRefused extends Error {
  override name = 'MatchmakerRefused';
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
  ) {
    super(`matchmaker refused: ${status} ${body?.code ?? ''} ${body?.message ?? ''}`);
  }
}

/**
 * The edge's client to the matchmaker: registers (signed), heartbeats with load every few seconds
 * (re-registering if the matchmaker forgot the edge), and reports session start and end.
 */
export function startEdgeControl(parameters: StartEdgeControlParameters): EdgeControl {
  const { edge, account, logger } = parameters;
  const base = parameters.matchmakerUrl.replace(/\/$/, '');
  const deployment = parameters.deployment ?? deploymentOf(edge.sessionPublicKey);
  /** The session key of each running session (from its token), named in heartbeats. */
  const owners = new Map<string, string>();
  let heartbeatMs = parameters.heartbeatMs ?? 2000;
  const peerRtts = new PeerRtts({ everyMs: parameters.peerProbeMs ?? 30_000 });
  let closed = false;
  let closing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let registering: Promise<void> | undefined;
  let resolveRegistered: () => void = () => {};
  const registered = new Promise<void>((resolve) => {
    resolveRegistered = resolve;
  });

  async function post(path: string, body: unknown): Promise<unknown> {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const json = (await response.json().catch(() => undefined)) as unknown;
    if (!response.ok) throw new MatchmakerRefused(response.status, json as ErrorBody | undefined);
    return json;
  }

  async function register(): Promise<void> {
    const info = edge.info();
    const publicUrl = edge.url;
    if (!publicUrl) throw new Error('the edge has no URL yet: call startEdgeControl after edge.listen()');
    const payload: EdgeRegistrationPayload = {
      edge: account.address,
      region: info.region,
      lat: info.lat,
      lon: info.lon,
      gpu: info.gpu.slice(0, 128),
      encoders: info.encoders.slice(0, 16),
      capacity: info.capacity,
      pricePerMinute: info.pricePerMinute,
      version: parameters.version ?? 'farplay-edge/0.1.0',
      publicUrl,
      games: info.games.slice(0, 64).map((game) => ({ ...game, input: [...game.input] })),
      ...(info.runtimes?.length ? { runtimes: [...info.runtimes] } : {}),
      issuedAt: Date.now(),
      nonce: randomNonce(),
      deployment,
    };
    const signature = await signEdgeMessage(account, 'EdgeRegistration', payload);
    const answer = (await post('/v1/edges/register', {
      payload,
      signature,
      ...(parameters.capability ? { capability: parameters.capability } : {}),
    })) as { heartbeatMs?: number };
    if (parameters.heartbeatMs === undefined && answer.heartbeatMs) heartbeatMs = answer.heartbeatMs;
    logger?.info({ edgeId: account.address, matchmaker: base }, 'registered with the matchmaker');
    resolveRegistered();
  }

  function ensureRegistered(): Promise<void> {
    registering ??= register().finally(() => {
      registering = undefined;
    });
    return registering;
  }

  async function heartbeat(): Promise<void> {
    const info = edge.info();
    const ids = edge.sessionIds().slice(0, 1024);
    const measured = peerRtts.take();
    const payload: EdgeHeartbeatPayload = {
      edge: account.address,
      activeSessions: info.activeSessions,
      freeSlots: info.freeSlots,
      encodeHeadroom: Math.max(0, info.encodeHeadroom),
      activeSessionIds: ids,
      activeSessionOwners: ids.map((id) => owners.get(id) ?? ''),
      ...(measured.length > 0 ? { peerRtts: measured } : {}),
      issuedAt: Date.now(),
      nonce: randomNonce(),
      deployment,
    };
    const signature = await signEdgeMessage(account, 'EdgeHeartbeat', payload);
    try {
      const answer = (await post('/v1/edges/heartbeat', { payload, signature })) as HeartbeatResponse;
      peerRtts.measure(answer?.peers).catch((error: unknown) => logger?.warn({ err: error }, 'peer RTTs'));
    } catch (error) {
      peerRtts.restore(measured);
      if (error instanceof MatchmakerRefused && error.body?.code === 'MM_UNKNOWN_EDGE') {
        logger?.warn('matchmaker forgot this edge; registering again');
        await ensureRegistered();
        // At once, not a period later: the heartbeat names the running sessions, which the matchmaker
        // re-creates before it fills this edge's slots again.
        await heartbeat();
        return;
      }
      throw error;
    }
  }

  function schedule(delay: number): void {
    if (closed || closing) return;
    timer = setTimeout(() => {
      const step = registering !== undefined ? registering : heartbeat();
      step
        .catch(async (error: unknown) => {
          logger?.warn({ err: error }, 'heartbeat failed');
          // If we never registered (matchmaker down at start), keep trying.
          if (!(error instanceof MatchmakerRefused)) await ensureRegistered().catch(() => {});
        })
        .finally(() => schedule(heartbeatMs));
    }, delay);
    timer.unref?.();
  }

  /**
   * Reports a session start or end, retrying with exponential backoff (250 ms doubling to 8 s, `attempts`
   * times) while the matchmaker is unreachable, overloaded (429) or failing (5xx); a refusal (other 4xx) is
   * final. Whatever is still lost is reconciled through the heartbeats, which name the running sessions.
   */
  async function report(
    sessionId: string,
    event: 'started' | 'ended',
    reason: string,
    attempts = 8,
  ): Promise<void> {
    for (let attempt = 0; attempt < attempts && !closed; attempt++) {
      const payload: EdgeSessionReportPayload = {
        edge: account.address,
        sessionId,
        event,
        reason: reason.slice(0, 256),
        issuedAt: Date.now(),
        nonce: randomNonce(),
        deployment,
      };
      const signature = await signEdgeMessage(account, 'EdgeSessionReport', payload);
      try {
        await post('/v1/edges/sessions', { payload, signature });
        return;
      } catch (error) {
        if (error instanceof MatchmakerRefused) {
          const code = error.body?.code;
          // The matchmaker holds no slot for this session here: do not serve it unaccounted.
          if (event === 'started' && (code === 'MM_UNKNOWN_SESSION' || code === 'MM_NOT_SESSION_EDGE')) {
            logger?.warn({ sessionId, code }, 'matchmaker has no reservation for this session; ending it');
            edge.endSession(sessionId, 'not-allocated');
          }
          if (error.status < 500 && error.status !== 429) return;
        }
        logger?.warn({ err: error, sessionId, event, attempt }, 'session report failed; retrying');
        if (attempt + 1 < attempts) {
          const delay = Math.min(8000, 250 * 2 ** attempt) * (0.75 + 0.5 * Math.random());
          await new Promise((r) => setTimeout(r, delay).unref?.());
        }
      }
    }
  }

  const unsubscribe = [
    edge.on('sessionStarted', (e) => {
      if (e.owner) owners.set(e.sessionId, e.owner);
      report(e.sessionId, 'started', '').catch(() => {});
    }),
    edge.on('sessionEnded', (e) => {
      owners.delete(e.sessionId);
      report(e.sessionId, 'ended', e.reason).catch(() => {});
    }),
  ];

  ensureRegistered().then(
    () => schedule(heartbeatMs),
    (error: unknown) => {
      logger?.warn({ err: error }, 'registration failed; retrying');
      schedule(Math.min(heartbeatMs, 1000));
    },
  );

  return {
    registered,
    get closed() {
      return closed;
    },
    close() {
      closing ??= (async () => {
        if (timer) clearTimeout(timer);
        for (const off of unsubscribe) off();
        await registering?.catch(() => {});
        // A graceful shutdown: tell the matchmaker every running session ends here, so it moves the
        // players at once instead of after the edge's TTL (two tries each, in parallel).
        const ids = edge.sessionIds();
        if (ids.length > 0) {
          logger?.info({ sessions: ids.length }, 'reporting sessions ended before shutting down');
          await Promise.all(ids.map((id) => report(id, 'ended', EDGE_SHUTDOWN_REASON, 2).catch(() => {})));
        }
        closed = true;
        if (timer) clearTimeout(timer);
      })();
      return closing;
    },
  };
}
