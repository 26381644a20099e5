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
