import type { FrameStamp } from '../../protocol/frameStamp.js';
import { emptyStats, type StreamStats } from './StatsSampler.js';

/** Where the app is. */
export type AppState = 'catalog' | 'starting' | 'connecting' | 'playing' | 'dropped' | 'ended' | 'error';

/** Measurement samples collected since the last `takeSamples()` (each list capped at 20 000). */
export interface LatencySamples {
  /** Per stamped frame: display time − capture time, ms. */
  glassToGlassMs: number[];
  /** Per stamped frame: last packet received − capture time, ms (no display tick in it). */
  captureToReceiveMs: number[];
  /** Per stamped frame: browser-reported decode/processing time, ms. */
  processingMs: number[];
  /** Per data-channel ping: round trip, ms. */
  inputRttMs: number[];
  /** Per key press: keyDown sent → first displayed frame whose stamp shows that input, ms. */
  inputToPhotonMs: number[];
}

/**
 * `window.__farplay`: a small, read-mostly view of the player for e2e tests and bench/stream.ts.
 * Not an API for pages; fields may change with the player (documented in player/README.md).
 */
export interface FarplayHook {
  version: 1;
  state: AppState;
  /** Game ids shown in the catalog. */
  games: string[];
  gameId: string | undefined;
  sessionId: string | undefined;
  /** Encoder the edge reported (`session` message). */
  encoder: string | undefined;
  /** Video frames decoded in the current stream (getStats, refreshed twice a second). */
  framesDecoded: number;
  /** Video frames presented by the <video> (requestVideoFrameCallback). */
  framesPresented: number;
  /** Last frame stamp read from the video (probe scene), with its glass-to-glass time. */
  lastStamp: (FrameStamp & { glassToGlassMs: number }) | null;
  /** Latest stream statistics (what the overlay shows). */
  stats: StreamStats;
  /** Times the stream was re-established (reconnect or move) in this play view. */
  reconnects: number;
  /** Last error or drop reason shown to the user. */
  error: string | undefined;
  /** Presses and releases a key (KeyboardEvent.code) in the running game; returns the keyDown seq (0 if not sent). */
  sendKey(code: string): number;
  /** Returns and clears the samples collected so far. */
  takeSamples(): LatencySamples;
}

const MAX_SAMPLES = 20_000;

function emptySamples(): LatencySamples {
  return {
    glassToGlassMs: [],
    captureToReceiveMs: [],
    processingMs: [],
    inputRttMs: [],
    inputToPhotonMs: [],
  };
}

let samples = emptySamples();

/** Records one sample (dropped once the list is full). */
export function recordSample(kind: keyof LatencySamples, value: number): void {
  const list = samples[kind];
  if (list.length < MAX_SAMPLES) list.push(value);
}

/** The hook object, installed on `window.__farplay`. */
export const hook: FarplayHook = {
  version: 1,
  state: 'catalog',
  games: [],
  gameId: undefined,
  sessionId: undefined,
  encoder: undefined,
  framesDecoded: 0,
  framesPresented: 0,
  lastStamp: null,
  stats: emptyStats(),
  reconnects: 0,
  error: undefined,
  sendKey: () => 0,
  takeSamples() {
    const taken = samples;
    samples = emptySamples();
    return taken;
  },
};

declare global {
  interface Window {
    __farplay: FarplayHook;
  }
}

window.__farplay = hook;
