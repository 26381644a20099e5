// How many concurrent 720p30 sessions this machine sustains at >= 95 % of the target fps: the core of
// `farplay-edge bench` and of bench/capacity.ts. The edge runs as its own process (edge/main.ts,
// standalone); the receivers are werift players in this process that count complete H.264 access units
// (no decoding).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import type { EdgeStats } from '../Edge.js';
import { StreamReceiver } from './StreamReceiver.js';

/** Options of `measureCapacity`; every field has a default. */
export interface CapacityBenchOptions {
  /** Game to run in every session (default 'latency-probe-30': 1280×720 at 30 fps). */
  gameId?: string;
  /** Measurement window per step, seconds (default 10). */
  windowSeconds?: number;
  /** Warm-up after adding sessions, seconds (default 3). */
  warmupSeconds?: number;
  /** First session count tried (default 1) and the largest (default 16). */
  start?: number;
  max?: number;
  /** Share of the target fps every session must deliver (default 0.95). */
  threshold?: number;
  /** Use a running standalone edge at this URL instead of starting one. */
  edgeUrl?: string;
  /**
   * Sessions from elsewhere than a standalone edge's own API, e.g. a matchmaker allocating a studio's native
   * game to an edge already running (`edgeUrl` is then its URL, for `/v1/stats`).
   */
  sessions?: CapacitySessionSource;
  /** Extra FARPLAY_EDGE_* variables for the edge process. */
  edgeEnv?: Record<string, string>;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Called as the bench moves on: each step's session count and how much of its window has passed (0..1). */
  onProgress?: (progress: CapacityProgress) => void;
}

/** Where the bench's sessions come from when it is not a standalone edge (CapacityBenchOptions.sessions). */
export interface CapacitySessionSource {
  encoder: string;
  game: { id: string; width: number; height: number; fps: number };
  createSession(): Promise<CreateSessionResponse>;
}

/** Where a running capacity bench is. */
export interface CapacityProgress {
  /** Sessions being measured in this step. */
  sessions: number;
  /** 'starting' sessions, 'warmup', 'measuring' (with `fraction`), or a step just 'done'. */
  phase: 'starting' | 'warmup' | 'measuring' | 'done';
  /** Share of the measurement window passed (measuring), 0..1. */
  fraction: number;
  /** Steps finished so far and the most the bench will run. */
  stepsDone: number;
  maxSessions: number;
}

/** One step of the bench: `sessions` at once, and what they delivered. */
export interface CapacityStep {
  sessions: number;
  perSession: number[];
  minFps: number;
  edgeMs: { p50: number; p99: number };
  encodeMs: { p50: number; p99: number };
  droppedFrames: number;
  ok: boolean;
}

/** What the bench found; `sessions` is the answer. */
export interface CapacityBenchResult {
  /** Largest session count where every session delivered >= threshold × target fps. */
  sessions: number;
  /** Delivered fps of each session at that count. */
  perSession: number[];
  encoder: string;
  width: number;
  height: number;
  targetFps: number;
  windowSeconds: number;
  /** Edge-side timing at that count: frame ready → last packet sent, and time in the encoder. */
  edgeMs: { p50: number; p99: number };
  encodeMs: { p50: number; p99: number };
  steps: CapacityStep[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number) => Math.round(value * 100) / 100;

/** Starts edge/main.ts in its own process (port 0, loopback ICE only); resolves with its URL. */
async function startEdgeProcess(
  capacity: number,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  // The operator's own FARPLAY_EDGE_* (config file, matchmaker) must not reach the bench edge: it would register.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('FARPLAY_EDGE_')),
  );
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), main], {
    env: {
      ...inherited,
      FARPLAY_EDGE_PORT: '0',
      FARPLAY_EDGE_CAPACITY: String(capacity),
      FARPLAY_EDGE_ICE_ALLOWED_ADDRESSES: '["127.0.0.1"]',
      FARPLAY_EDGE_ALLOW_PRIVATE_CANDIDATES: 'true',
      FARPLAY_EDGE_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not started in time: stop it too, or the bench would leave an edge behind.
      child.kill();
      reject(new Error('edge did not start in 120 s'));
    }, 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`edge exited with ${code}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf('\n');
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'edge ready' && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // not a log line
        }
      }
    });
  });
  // Keep draining its log so the pipe never blocks the edge.
  child.stdout?.on('data', () => {});
  return { url, child };
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok)
    throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Measures the concurrent sessions this machine sustains; see CapacityBenchOptions for defaults. */
export async function measureCapacity(options: CapacityBenchOptions = {}): Promise<CapacityBenchResult> {
  const gameId = options.sessions?.game.id ?? options.gameId ?? 'latency-probe-30';
  const windowSeconds = options.windowSeconds ?? 10;
  const warmupSeconds = options.warmupSeconds ?? 3;
  const start = options.start ?? 1;
  const max = options.max ?? 16;
  const threshold = options.threshold ?? 0.95;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const source = options.sessions;
  const started = options.edgeUrl ? undefined : await startEdgeProcess(max, options.edgeEnv ?? {});
  const edgeUrl = (options.edgeUrl ?? started?.url ?? '').replace(/\/$/, '');
  const players: StreamReceiver[] = [];
  const steps: CapacityStep[] = [];
  try {
    const info = source
      ? { encoder: source.encoder, games: [source.game] }
      : await getJson<{
          encoder: string;
          games: Array<{ id: string; width: number; height: number; fps: number }>;
        }>(`${edgeUrl}/v1/edge`);
    const game = info.games.find((g) => g.id === gameId);
    if (!game) throw new Error(`the edge has no game ${gameId}`);
    log(
      `capacity bench: ${gameId} ${game.width}x${game.height}@${game.fps} on ${info.encoder}, edge ${edgeUrl}`,
    );
    const dropped = (stats: EdgeStats) =>
      stats.sessions.reduce((sum, session) => sum + session.framesDroppedBusy + session.framesDroppedLate, 0);
    const progress = (phase: CapacityProgress['phase'], sessions: number, fraction = 0) =>
      options.onProgress?.({ phase, sessions, fraction, stepsDone: steps.length, maxSessions: max });
    const measure = async (count: number): Promise<CapacityStep> => {
      progress('starting', count);
      while (players.length > count) await players.pop()?.close();
      while (players.length < count) {
        const session = source
          ? await source.createSession()
          : await getJson<CreateSessionResponse>(`${edgeUrl}/v1/sessions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ gameId, measurements: [] }),
            });
        const player = new StreamReceiver({ signalUrl: session.edge.signalUrl, token: session.token });
        players.push(player);
        await player.waitFor(() => player.framesReceived > 0, 20_000, 'first frame');
      }
      progress('warmup', count);
      await sleep(warmupSeconds * 1000);
      await fetch(`${edgeUrl}/v1/stats?reset=1`);
      const before = players.map((player) => player.framesReceived);
      const statsBefore = await getJson<EdgeStats>(`${edgeUrl}/v1/stats`);
      const t0 = performance.now();
      const ticks = Math.max(1, Math.round(windowSeconds * 4));
      for (let tick = 1; tick <= ticks; tick++) {
        await sleep((windowSeconds * 1000) / ticks);
        progress('measuring', count, tick / ticks);
      }
      const seconds = (performance.now() - t0) / 1000;
      const perSession = players.map((player, i) =>
        round((player.framesReceived - (before[i] ?? 0)) / seconds),
      );
      const stats = await getJson<EdgeStats>(`${edgeUrl}/v1/stats`);
      const minFps = Math.min(...perSession);
      const ok =
        minFps >= threshold * game.fps &&
        players.every((player) => player.messages.every((m) => m.type !== 'ended'));
      const step: CapacityStep = {
        sessions: count,
        perSession,
        minFps,
        edgeMs: { p50: stats.edgeMs.p50, p99: stats.edgeMs.p99 },
        encodeMs: { p50: stats.encodeMs.p50, p99: stats.encodeMs.p99 },
        droppedFrames: dropped(stats) - dropped(statsBefore),
        ok,
      };
      steps.push(step);
      progress('done', count, 1);
      log(
        `${count} sessions: min ${minFps} fps (target ${game.fps}), edge p50 ${step.edgeMs.p50} ms p99 ${step.edgeMs.p99} ms, encode p50 ${step.encodeMs.p50} ms, dropped ${step.droppedFrames} → ${ok ? 'ok' : 'below target'}`,
      );
      return step;
    };
    // Step up from `start` until a count falls short; if `start` itself falls short, step down instead.
    let count = start;
    let step = await measure(count);
    if (step.ok) {
      while (step.ok && count < max) step = await measure(++count);
    } else {
      while (!step.ok && count > 1) step = await measure(--count);
    }
    const best = [...steps].reverse().find((step) => step.ok);
    return {
      sessions: best?.sessions ?? 0,
      perSession: best?.perSession ?? [],
      encoder: info.encoder,
      width: game.width,
      height: game.height,
      targetFps: game.fps,
      windowSeconds,
      edgeMs: best?.edgeMs ?? { p50: 0, p99: 0 },
      encodeMs: best?.encodeMs ?? { p50: 0, p99: 0 },
      steps,
    };
  } finally {
    await Promise.all(players.map((player) => player.close()));
    if (started) {
      started.child.kill('SIGTERM');
      await Promise.race([once(started.child, 'exit'), sleep(5_000)]);
    }
  }
}
