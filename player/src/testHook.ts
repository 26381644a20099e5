import { emptyStats, type FarplayHook, type LatencySamples } from './hookTypes.js';

export type { AppState, FarplayHook, LatencySamples } from './hookTypes.js';

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
  if (!__FARPLAY_TEST_HOOK__) return;
  const list = samples[kind];
  if (list.length < MAX_SAMPLES) list.push(value);
}

/**
 * The hook object: the page's own record of its state, installed on `window.__farplay` only in the
 * test build (`__FARPLAY_TEST_HOOK__`, see player/vite.config.ts); the production bundle has no global.
 */
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
  quality: null,
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
    __farplay?: FarplayHook;
  }
}

if (__FARPLAY_TEST_HOOK__) window.__farplay = hook;
