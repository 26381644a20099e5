import { pino } from 'pino';
import { type EdgeConfigInput, parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import type { OpenVideoEncoder } from '../../edge/media/MediaPipelineOptions.js';
import { type ProbeEncodersResult, probeEncoders } from '../../edge/media/probeEncoders.js';
import { NodePlayer, type NodePlayerOptions } from '../tools/NodePlayer.js';

let probe: Promise<ProbeEncodersResult> | undefined;

/**
 * A listening standalone edge on 127.0.0.1:0 that only uses loopback ICE candidates (`openVideoEncoder`:
 * how its sessions open H.264 encoders, default the real H264Encoder.open).
 */
export async function startTestEdge(
  config: EdgeConfigInput = {},
  openVideoEncoder?: OpenVideoEncoder,
): Promise<EdgeServer> {
  probe ??= probeEncoders();
  const server = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      iceAllowedAddresses: ['127.0.0.1'],
      allowPrivateCandidates: true, // players on loopback
      logLevel: 'silent',
      capacity: 3,
      connectTimeoutSeconds: 15,
      ...config,
    }),
    logger: pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' }),
    encoderProbe: await probe,
    ...(openVideoEncoder ? { openVideoEncoder } : {}),
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  return server;
}

/** Mints a session on `edge` for `gameId` and connects a Node player to it. */
export function connectPlayer(
  edge: Edge,
  gameId = 'latency-probe',
  options: Partial<NodePlayerOptions> = {},
): NodePlayer {
  const session = edge.createSession(gameId);
  return new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token, ...options });
}

/** Timers alive in this process. */
export function timers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

/** UDP sockets open in this process (werift's ICE sockets). */
export function udpSockets(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'UDPWrap').length;
}

export async function eventually(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
