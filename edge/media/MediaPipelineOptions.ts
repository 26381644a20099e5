import type { Logger } from 'pino';
import type { SessionStats } from '../session/SessionStats.js';
import type { PacerClock } from './FramePacer.js';
import type { FrameSource } from './FrameSource.js';
import type { H264Encoder, H264EncoderOptions } from './H264Encoder.js';
import type { QualityReport } from './VideoRateControl.js';

/** Bandwidth adaptation settings (MediaPipelineOptions.rateControl). */
export interface RateControlSettings {
  minKbps: number;
  maxKbps: number;
  /** Step resolution/fps with the estimate, not only the bitrate. */
  adaptResolution: boolean;
  /** Forward error correction (ULPFEC in RED) when the player negotiated it (VideoRateControl). */
  fec?: boolean;
}

/** Opens an H.264 encoder (default H264Encoder.open; tests inject failing ones). */
export type OpenVideoEncoder = (options: H264EncoderOptions) => Promise<H264Encoder>;

/** What a MediaPipeline is built from. */
export interface MediaPipelineOptions {
  source: FrameSource;
  /** FFmpeg H.264 encoder name. */
  encoder: string;
  threads: number;
  width: number;
  height: number;
  fps: number;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  /** Send the playout-delay extension when the player accepted it. */
  zeroPlayoutDelay: boolean;
  stats: SessionStats;
  /**
   * Transport-wide congestion control: when set and the player negotiated transport-cc, the estimate
   * drives the bitrate (and the picture) under the player's cap; otherwise the bitrate is fixed.
   */
  rateControl?: RateControlSettings;
  clock: PacerClock;
  /** Wall clock for frame stamps and capture times. */
  wallClock: () => number;
  logger: Logger;
  openVideoEncoder?: OpenVideoEncoder;
}

/** Events of a MediaPipeline. */
export type MediaPipelineEvents = {
  /** An encoder or the RTP path failed: the session ends. */
  failed: [error: unknown];
  /** The bandwidth adaptation changed something the player should see (the `quality` message). */
  quality: [report: QualityReport];
};
