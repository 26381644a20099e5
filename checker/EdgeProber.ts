import type { Logger } from 'pino';
import type { Address, Hex, LocalAccount } from 'viem';
import { signProbeRequest } from '../protocol/edgeProbe.js';
import type { CreateSessionResponse } from '../protocol/playerApi.js';
import {
  describeProbeError,
  type EdgeProbe,
  probeError,
  type RttProbe,
  roundMs,
  type SessionProbe,
} from './edgeProbes.js';
import { isLoopback, ProbeReceiver, watchProbeSession } from './watchProbeSession.js';

export type { EdgeProbe, RttProbe, SessionProbe } from './edgeProbes.js';
export { negotiatedVideoCodec } from './watchProbeSession.js';

/**
 * A checker's active probes of the edges of its open sessions (issue 9): RTT to the edge (`GET /v1/probe` timed,
 * the smallest of a few samples) every `rttEveryMs`, and now and then (`sessionEveryMs`) a short synthetic session
 * through the edge's normal path — a probe token from the matchmaker (protocol/edgeProbe.ts), signalling and
 * WebRTC with a real werift receiver — that records the codec negotiated, the picture the stream's SPS declares,
 * the frames that arrived, and whether the encoder the edge claims is what the stream shows. Every result, failed
 * ones included, is kept with each open session of that edge (`Checker.recordProbe`) and served in its evidence.
 */

export interface EdgeProberParameters {
  /**
   * The matchmaker: its live edge list (`GET /v1/edges`) gives each edge's URL, its `POST /v1/probes` tokens.
   * Empty: the prober waits for `useMatchmaker` (nothing is probed before).
   */
  matchmakerUrl: string;
  /** The checker's key (signs probe requests; the matchmaker checks it is a registered checker). */
  account: LocalAccount;
  /** Keeps a result with a session (Checker.recordProbe). */
  record: (sessionId: Hex, probe: EdgeProbe) => Promise<void>;
  logger: Logger;
  /** RTT probes of each live edge every this many ms (0 = none on a timer). */
  rttEveryMs: number;
  /** Samples per RTT probe (the smallest is the figure). */
  rttSamples: number;
  /** A synthetic session on each live edge every this many ms (0 = none on a timer). */
  sessionEveryMs: number;
  /** How long a synthetic session receives after its first frame, ms. */
  sessionWindowMs: number;
  /** A session is live (its edge probed) while opened or reported within this many ms. */
  idleMs: number;
  /** Clock (unix ms). */
  now?: () => number;
}

export class EdgeProber {
  readonly #p: EdgeProberParameters;
  readonly #now: () => number;
  /** Live sessions: id → edge and when last seen. */
  readonly #sessions = new Map<Hex, { edge: Address; seenAt: number }>();
  readonly #lastSession = new Map<string, number>();
  readonly #urls = new Map<string, { url: string; at: number }>();
  #deployment: string | undefined;
  #matchmakerUrl: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(p: EdgeProberParameters) {
    this.#p = p;
    this.#now = p.now ?? Date.now;
    this.#matchmakerUrl = p.matchmakerUrl.replace(/\/+$/, '');
    const every = [p.rttEveryMs, p.sessionEveryMs].filter((ms) => ms > 0);
    if (every.length > 0) {
      this.#timer = setInterval(
        () => {
          this.#running = this.#running.then(() => this.tick()).catch(() => {});
        },
        Math.min(...every),
      );
      this.#timer.unref();
    }
  }

  /** True once a matchmaker is known: probes run and verdicts read them. */
  get active(): boolean {
    return this.#matchmakerUrl !== '' && !this.#closed;
  }

  /** Probes through `url` from now on (a checker started before its matchmaker, as `npm start` does). */
  useMatchmaker(url: string): void {
    this.#matchmakerUrl = url.replace(/\/+$/, '');
    this.#deployment = undefined;
    this.#urls.clear();
  }

  /** A session is open or reporting: its edge is probed while it stays live. */
  track(sessionId: Hex, edge: Address): void {
    this.#sessions.set(sessionId, { edge, seenAt: this.#now() });
  }

  /** The live sessions of each edge (stale ones forgotten). */
  #liveEdges(): Map<string, { edge: Address; sessions: Hex[] }> {
    const now = this.#now();
    const edges = new Map<string, { edge: Address; sessions: Hex[] }>();
    for (const [sessionId, s] of this.#sessions) {
      if (now - s.seenAt > this.#p.idleMs) {
        this.#sessions.delete(sessionId);
        continue;
      }
      const key = s.edge.toLowerCase();
      const e = edges.get(key) ?? { edge: s.edge, sessions: [] };
      e.sessions.push(sessionId);
      edges.set(key, e);
    }
    return edges;
  }

  /** One round: an RTT probe of every live edge, and a synthetic session on those due one (one at a time). */
  async tick(): Promise<void> {
    if (!this.active) return;
    for (const [key, { edge }] of this.#liveEdges()) {
      if (this.#closed) return;
      if (this.#p.rttEveryMs > 0) await this.probeRtt(edge);
      const last = this.#lastSession.get(key);
      if (
        this.#p.sessionEveryMs > 0 &&
        (last === undefined || this.#now() - last >= this.#p.sessionEveryMs)
      ) {
        await this.probeSession(edge);
      }
    }
  }

  /** Keeps `probe` with every live session of its edge. */
  async #keep(probe: EdgeProbe): Promise<void> {
    const sessions = this.#liveEdges().get(probe.edge.toLowerCase())?.sessions ?? [];
    for (const sessionId of sessions) {
      await this.#p.record(sessionId, probe).catch((err: unknown) => {
        this.#p.logger.warn({ err, sessionId }, 'probe not kept');
      });
    }
  }

  /** The edge's public URL, as the matchmaker lists it (cached 30 s). */
  async #edgeUrl(edge: Address): Promise<string> {
    const key = edge.toLowerCase();
    const cached = this.#urls.get(key);
    if (cached !== undefined && this.#now() - cached.at < 30_000) return cached.url;
    const res = await fetch(`${this.#matchmakerUrl}/v1/edges`, { signal: AbortSignal.timeout(5000) });
    const { edges } = (await res.json()) as { edges: { edgeId: string; url: string }[] };
    for (const e of edges) this.#urls.set(e.edgeId.toLowerCase(), { url: e.url, at: this.#now() });
    const found = this.#urls.get(key);
    if (found === undefined)
      throw probeError('CHECKER_PROBE_FAILED', 'the matchmaker lists no live edge with this id');
    return found.url;
  }

  /** Times `rttSamples` requests to the edge's `GET /v1/probe`; records and returns the result. */
  async probeRtt(edge: Address): Promise<RttProbe> {
    const at = this.#now();
    let url = '';
    let probe: RttProbe;
    try {
      url = await this.#edgeUrl(edge);
      const samplesMs: number[] = [];
      for (let i = 0; i < this.#p.rttSamples; i++) {
        const t = performance.now();
        const res = await fetch(`${url}/v1/probe`, { signal: AbortSignal.timeout(3000) });
        await res.arrayBuffer();
        if (res.status !== 204)
          throw probeError('CHECKER_PROBE_FAILED', `GET /v1/probe answered ${res.status}`);
        samplesMs.push(roundMs(performance.now() - t));
      }
      probe = { kind: 'rtt', edge, url, at, ok: true, rttMs: Math.min(...samplesMs), samplesMs };
    } catch (error) {
      probe = { kind: 'rtt', edge, url, at, ok: false, error: describeProbeError(error) };
    }
    await this.#keep(probe);
    return probe;
  }

  /** A probe token for `edge` from the matchmaker (signed by this checker). */
  async #token(edge: Address): Promise<CreateSessionResponse> {
    if (this.#deployment === undefined) {
      const info = await fetch(`${this.#matchmakerUrl}/v1/matchmaker`, { signal: AbortSignal.timeout(5000) });
      this.#deployment = ((await info.json()) as { deployment: string }).deployment;
    }
    const body = await signProbeRequest(this.#p.account, edge, this.#deployment, this.#now());
    const res = await fetch(`${this.#matchmakerUrl}/v1/probes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const json = (await res.json()) as CreateSessionResponse & { code?: string; message?: string };
    if (res.status !== 200)
      throw probeError(json.code ?? 'CHECKER_PROBE_FAILED', json.message ?? `status ${res.status}`);
    return json;
  }

  /** Runs one synthetic session on `edge`; records and returns the result (failed ones too). */
  async probeSession(edge: Address): Promise<SessionProbe> {
    const at = this.#now();
    this.#lastSession.set(edge.toLowerCase(), at);
    const started = performance.now();
    const cpu = process.cpuUsage();
    let url = '';
    let probe: SessionProbe;
    let session: CreateSessionResponse;
    try {
      url = await this.#edgeUrl(edge);
      session = await this.#token(edge);
    } catch (error) {
      probe = { kind: 'session', edge, url, at, ok: false, stage: 'token', error: describeProbeError(error) };
      await this.#keep(probe);
      return probe;
    }
    const healthEncoder = await fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) })
      .then(async (r) => ((await r.json()) as { encoder?: string }).encoder)
      .catch(() => undefined);
    const receiver = new ProbeReceiver({
      signalUrl: session.edge.signalUrl,
      token: session.token,
      loopbackOnly: isLoopback(session.edge.url),
    });
    try {
      probe = await watchProbeSession(receiver, {
        windowMs: this.#p.sessionWindowMs,
        edge,
        url,
        at,
        started,
        sessionId: session.sessionId,
        healthEncoder,
      });
    } finally {
      await receiver.close();
    }
    const used = process.cpuUsage(cpu);
    probe.durationMs = roundMs(performance.now() - started);
    probe.checkerCpuMs = roundMs((used.user + used.system) / 1000);
    this.#p.logger.info(
      { edge, ok: probe.ok, frames: probe.seen?.frames, error: probe.error?.code },
      'synthetic session probe',
    );
    await this.#keep(probe);
    return probe;
  }

  /** Stops the timer and waits for a running round. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
