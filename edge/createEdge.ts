import type { Logger } from 'pino';
import type { EdgeConfig } from './config.js';
import { Edge } from './Edge.js';
import { builtInGames } from './games/builtInGames.js';
import type { GameDefinition } from './games/GameRuntime.js';
import { EdgeServer } from './http/EdgeServer.js';
import type { PacerClock } from './media/FramePacer.js';
import type { OpenVideoEncoder } from './media/MediaPipelineOptions.js';
import { type ProbeEncodersResult, probeEncoders } from './media/probeEncoders.js';
import type { PackageGameSource } from './PackageGames.js';

/** What `createEdge` builds an edge from. */
export interface CreateEdgeParameters {
  config: Readonly<EdgeConfig>;
  logger: Logger;
  /** Games this edge runs (default: the built-in ones). */
  games?: GameDefinition[];
  /** Studio package games (e.g. a NativeGameCatalog); none = built-in games only. */
  packageGames?: PackageGameSource;
  /** A probe result to use instead of probing (tests that start many edges). */
  encoderProbe?: ProbeEncodersResult;
  /** Clock for the frame pacers (default: performance.now and Node timers). */
  clock?: PacerClock;
  /** Opens H.264 encoders, for the probe and the sessions (default H264Encoder.open; tests inject failures). */
  openVideoEncoder?: OpenVideoEncoder;
}

/**
 * Builds an edge and its HTTP/WebSocket server (not listening): probes the H.264 encoders (unless a probe
 * result is given), makes or loads its keys, registers its routes. Call `listen()` to serve; the domain
 * is `server.edge`.
 */
export async function createEdge(parameters: CreateEdgeParameters): Promise<EdgeServer> {
  const { config, logger, openVideoEncoder } = parameters;
  const encoderProbe =
    parameters.encoderProbe ??
    (await probeEncoders({
      candidates: config.encoders,
      ...(openVideoEncoder ? { open: openVideoEncoder } : {}),
    }));
  logger.info(
    { encoders: encoderProbe.probes, selected: encoderProbe.selected ?? null },
    encoderProbe.selected ? `H.264 encoder: ${encoderProbe.selected}` : 'no working H.264 encoder',
  );
  const edge = new Edge({
    config,
    logger,
    games: parameters.games ?? builtInGames(config.pricePerMinute),
    packageGames: parameters.packageGames,
    encoderProbe,
    clock: parameters.clock,
    openVideoEncoder,
  });
  return EdgeServer.create(edge, logger);
}
