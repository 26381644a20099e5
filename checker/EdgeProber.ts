import type { Logger } from 'pino';
import type { Address, Hex, LocalAccount } from 'viem';
import { StreamReceiver } from '../edge/operator/StreamReceiver.js';
import { signProbeRequest } from '../protocol/edgeProbe.js';
import type { CreateSessionResponse } from '../protocol/playerApi.js';
import { encoderSignature, type H264Sps, parseSps, splitAnnexB } from './h264Stream.js';

/**
 * A checker's active probes of the edges of its open sessions (issue 9): RTT to the edge (`GET /v1/probe` timed,
 * the smallest of a few samples) every `rttEveryMs`, and now and then (`sessionEveryMs`) a short synthetic session
 * through the edge's normal path — a probe token from the matchmaker (protocol/edgeProbe.ts), signalling and
 * WebRTC with a real werift receiver — that records the codec negotiated, the picture the stream's SPS declares,
 * the frames that arrived, and whether the encoder the edge claims is what the stream shows. Every result, failed
 * ones included, is kept with each open session of that edge (`Checker.recordProbe`) and served in its evidence.
 */

/** One RTT probe of an edge. */
export interface RttProbe {
  kind: 'rtt';
  edge: Address;
  url: string;
  /** Unix ms the probe started. */
  at: number;
  ok: boolean;
  /** The smallest sample, ms (what the verdict compares). */
  rttMs?: number;
  samplesMs?: number[];
  error?: { code: string; message: string };
}

/** One synthetic session on an edge. */
export interface SessionProbe {
  kind: 'session';
  edge: Address;
  url: string;
  at: number;
  /** Frames flowed and nothing the edge claims is contradicted by what arrived. */
  ok: boolean;
  /** Where it stopped when it failed: the matchmaker's token, the edge's admission, or the stream. */
  stage?: 'token' | 'admission' | 'stream';
  error?: { code: string; message: string };
  sessionId?: string;
  /** From the token request to the receiver's close, ms. */
  durationMs?: number;
  /** From the token to the first complete frame, ms. */
  firstFrameMs?: number;
  /** What the edge said in its `session` message (and its `GET /health`). */
  claimed?: { encoder: string; width: number; height: number; fps: number; healthEncoder?: string };
  /** The codec the receiver's answer negotiated. */
  codec?: { mimeType: string; fmtp: string };
  /** What arrived over `windowMs` from the first frame. */
  seen?: {
    windowMs: number;
    frames: number;
    incompleteFrames: number;
    fps: number;
    sps?: H264Sps;
    /** The encoder's own signature in the stream (libx264's SEI), if any. */
    encoderSignature?: string;
  };
  /** The edge ended the session before the window closed (e.g. a player needed the slot): its `ended` reason. */
  endedBy?: string;
  /** Each check: true consistent, false contradicted, null not provable from the stream. */
  checks?: {
    codec: boolean;
    resolution: boolean | null;
    frames: boolean;
    fps: boolean;
    encoder: boolean | null;
  };
  /** This process's CPU time (user + system) during the synthetic session, ms: the checker's own cost when it runs alone. */
  checkerCpuMs?: number;
}

export type EdgeProbe = RttProbe | SessionProbe;

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

/** Below this share of the claimed fps over the window, a synthetic session's frame rate is contradicted. */
const MIN_FPS_RATIO = 0.5;
/** Longest wait for the first frame of a synthetic session, ms. */
const FIRST_FRAME_TIMEOUT_MS = 15_000;

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
        samplesMs.push(round(performance.now() - t));
      }
      probe = { kind: 'rtt', edge, url, at, ok: true, rttMs: Math.min(...samplesMs), samplesMs };
    } catch (error) {
      probe = { kind: 'rtt', edge, url, at, ok: false, error: describe(error) };
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
      probe = { kind: 'session', edge, url, at, ok: false, stage: 'token', error: describe(error) };
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
      probe = await this.#watch(receiver, {
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
    probe.durationMs = round(performance.now() - started);
    probe.checkerCpuMs = round((used.user + used.system) / 1000);
    this.#p.logger.info(
      { edge, ok: probe.ok, frames: probe.seen?.frames, error: probe.error?.code },
      'synthetic session probe',
    );
    await this.#keep(probe);
    return probe;
  }

  async #watch(
    receiver: ProbeReceiver,
    c: {
      edge: Address;
      url: string;
      at: number;
      started: number;
      sessionId: string;
      healthEncoder?: string | undefined;
    },
  ): Promise<SessionProbe> {
    const base = { kind: 'session' as const, edge: c.edge, url: c.url, at: c.at, sessionId: c.sessionId };
    let closedBy: { code: number; reason: string } | undefined;
    void receiver.closed.then((r) => {
      closedBy = r;
    });
    await receiver
      .waitFor(() => receiver.framesReceived > 0 || closedBy !== undefined, FIRST_FRAME_TIMEOUT_MS)
      .catch(() => {});
    if (receiver.framesReceived === 0) {
      const error = receiver.messages.find((m) => m.type === 'error');
      const admitted = receiver.session !== undefined;
      return {
        ...base,
        ok: false,
        stage: admitted ? 'stream' : 'admission',
        error:
          error?.type === 'error'
            ? { code: error.code, message: error.message }
            : {
                code: 'CHECKER_PROBE_FAILED',
                message: closedBy
                  ? `the edge closed signalling (${closedBy.code}) before any frame`
                  : `no frame arrived within ${FIRST_FRAME_TIMEOUT_MS} ms`,
              },
        ...claimedOf(receiver, c.healthEncoder),
      };
    }
    const firstFrameMs = round(performance.now() - c.started);
    const from = receiver.framesReceived;
    const incompleteFrom = receiver.framesIncomplete;
    const windowStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, this.#p.sessionWindowMs));
    const windowMs = round(performance.now() - windowStart);
    const frames = receiver.framesReceived - from;
    const fps = round((frames * 1000) / windowMs);
    const claimed = claimedOf(receiver, c.healthEncoder).claimed;
    const codec = negotiatedVideoCodec(receiver.peer.localDescription?.sdp ?? '');
    const seen = {
      windowMs,
      frames,
      incompleteFrames: receiver.framesIncomplete - incompleteFrom,
      fps,
      ...(receiver.sps ? { sps: receiver.sps } : {}),
      ...(receiver.signature ? { encoderSignature: receiver.signature } : {}),
    };
    const checks = {
      codec: codec?.mimeType.toLowerCase() === 'video/h264',
      resolution:
        claimed === undefined || receiver.sps === undefined
          ? null
          : receiver.sps.width === claimed.width && receiver.sps.height === claimed.height,
      frames: frames > 0,
      fps: claimed === undefined ? false : fps >= claimed.fps * MIN_FPS_RATIO,
      encoder: encoderCheck(claimed?.encoder, receiver.signature),
    };
    const ended = receiver.messages.find((m) => m.type === 'ended');
    const endedBy =
      closedBy === undefined ? undefined : ended?.type === 'ended' ? ended.reason : `close ${closedBy.code}`;
    const ok =
      endedBy === undefined &&
      checks.codec &&
      checks.frames &&
      checks.fps &&
      checks.resolution !== false &&
      checks.encoder !== false;
    const message =
      endedBy === undefined
        ? failed(checks)
        : `the edge ended the probe session after ${frames} frames: ${endedBy}`;
    return {
      ...base,
      ok,
      ...(ok ? {} : { stage: 'stream' as const, error: { code: 'CHECKER_PROBE_FAILED', message } }),
      ...(endedBy !== undefined ? { endedBy } : {}),
      firstFrameMs,
      ...(claimed ? { claimed } : {}),
      ...(codec ? { codec } : {}),
      seen,
      checks,
    };
  }

  /** Stops the timer and waits for a running round. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}

/**
 * The encoder check: libx264 signs its stream (SEI), so a claim of libx264 with its signature present, or of
 * another encoder with it absent, is consistent; a claim of another encoder (e.g. h264_nvenc) over a stream that
 * carries libx264's signature is contradicted. A claim of libx264 without the signature cannot be proven either way
 * (an encoder may omit it), nor can NVENC be proven: it leaves no signature.
 */
function encoderCheck(claimed: string | undefined, signature: string | undefined): boolean | null {
  if (claimed === undefined) return null;
  const x264 = signature?.startsWith('x264') ?? false;
  if (claimed === 'libx264') return x264 ? true : null;
  return x264 ? false : null;
}

function failed(checks: Record<string, boolean | null>): string {
  const bad = Object.entries(checks)
    .filter(([, v]) => v === false)
    .map(([k]) => k);
  return `the stream contradicts the edge's claim: ${bad.join(', ')}`;
}

function claimedOf(receiver: ProbeReceiver, healthEncoder: string | undefined) {
  const s = receiver.session;
  if (s === undefined) return {};
  return {
    claimed: {
      encoder: s.encoder,
      width: s.width,
      height: s.height,
      fps: s.fps,
      ...(healthEncoder !== undefined ? { healthEncoder } : {}),
    },
  };
}

/** The first video codec of an SDP answer: its rtpmap name and fmtp. */
export function negotiatedVideoCodec(sdp: string): { mimeType: string; fmtp: string } | undefined {
  const lines = sdp.split(/\r?\n/);
  const m = lines.findIndex((l) => l.startsWith('m=video'));
  if (m < 0) return undefined;
  const pt = lines[m]?.split(' ')[3];
  if (pt === undefined) return undefined;
  const section = lines.slice(m + 1);
  const end = section.findIndex((l) => l.startsWith('m='));
  const own = end < 0 ? section : section.slice(0, end);
  const rtpmap = own.find((l) => l.startsWith(`a=rtpmap:${pt} `));
  const fmtp = own.find((l) => l.startsWith(`a=fmtp:${pt} `));
  if (rtpmap === undefined) return undefined;
  return {
    mimeType: `video/${rtpmap.split(' ')[1]?.split('/')[0] ?? ''}`,
    fmtp: fmtp?.slice(`a=fmtp:${pt} `.length) ?? '',
  };
}

/** The synthetic session's receiver: counts frames (StreamReceiver) and reads SPS and SEI from what arrives. */
class ProbeReceiver extends StreamReceiver {
  sps: H264Sps | undefined;
  signature: string | undefined;

  protected override onAccessUnit(parts: Buffer[]): void {
    if (this.sps !== undefined && this.signature !== undefined) return;
    for (const part of parts) {
      for (const nal of splitAnnexB(part)) {
        const type = (nal[0] ?? 0) & 0x1f;
        if (type === 7 && this.sps === undefined) {
          try {
            this.sps = parseSps(nal);
          } catch {
            // a malformed SPS leaves the resolution unproven
          }
        } else if (type === 6) this.signature ??= encoderSignature(nal);
      }
    }
  }
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

class ProbeFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function probeError(code: string, message: string): ProbeFailure {
  return new ProbeFailure(code, message);
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof ProbeFailure) return { code: error.code, message: error.message };
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  const code = e?.name === 'TimeoutError' ? 'CHECKER_PROBE_TIMEOUT' : 'CHECKER_PROBE_FAILED';
  return { code, message: String(e?.message ?? error) };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
