// Types of the player's test hook (`window.__farplay`) and stats, free of DOM types so that Node-side
// tests and benches (tsconfig without the DOM lib) can import them.
import type { FrameStamp } from '../../protocol/frameStamp.js';
import type { QualityMessage } from '../../protocol/signaling.js';

/** What the stats overlay shows; numbers are undefined until known. */
export interface StreamStats {
  /** Frames decoded per second (inbound video). */
  fps: number | undefined;
  /** Received video+audio bitrate, kbit/s. */
  bitrateKbps: number | undefined;
  /** ICE round-trip time of the selected candidate pair, ms. */
  rttMs: number | undefined;
  /** Input data-channel ping/pong round trip (median of the last few), ms. */
  inputRttMs: number | undefined;
  /** Video packets lost over the last interval, %. */
  packetLossPct: number | undefined;
  /** Mean decode time per frame over the last interval, ms. */
  decodeMs: number | undefined;
  /** Mean jitter-buffer delay over the last interval, ms. */
  jitterBufferMs: number | undefined;
  /** Glass-to-glass latency (median of the last second of stamped frames), ms; probe scene only. */
  glassToGlassMs: number | undefined;
  /** Total video frames decoded. */
  framesDecoded: number;
  /** Total video frames dropped by the receiver. */
  framesDropped: number;
  /** Video freezes so far. */
  freezeCount: number;
  /** Decoded frame size. */
  width: number | undefined;
  height: number | undefined;
  /** Negotiated video codec, e.g. `video/H264`. */
  codec: string | undefined;
}

/** Empty stats. */
export function emptyStats(): StreamStats {
  return {
    fps: undefined,
    bitrateKbps: undefined,
    rttMs: undefined,
    inputRttMs: undefined,
    packetLossPct: undefined,
    decodeMs: undefined,
    jitterBufferMs: undefined,
    glassToGlassMs: undefined,
    framesDecoded: 0,
    framesDropped: 0,
    freezeCount: 0,
    width: undefined,
    height: undefined,
    codec: undefined,
  };
}

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
/** Serializable part of the hook (what tests read with page.evaluate). */
export type FarplayHookState = Omit<FarplayHook, 'sendKey' | 'takeSamples'>;

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
  /** The edge's last `quality` report (bandwidth estimate, target, cap, picture, why), null before one. */
  quality: QualityMessage | null;
  /** Times the stream was re-established (reconnect or move) in this play view. */
  reconnects: number;
  /** Last error or drop reason shown to the user. */
  error: string | undefined;
  /** Presses and releases a key (KeyboardEvent.code) in the running game; returns the keyDown seq (0 if not sent). */
  sendKey(code: string): number;
  /** Returns and clears the samples collected so far. */
  takeSamples(): LatencySamples;
}
