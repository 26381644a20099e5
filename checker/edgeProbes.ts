import type { Address } from 'viem';
import type { H264Sps } from './h264Stream.js';

/** What the checker keeps of its probes of an edge (checker/EdgeProber.ts), served in the session's evidence. */

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

/** A probe step that failed with a known code. */
export class ProbeFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function probeError(code: string, message: string): ProbeFailure {
  return new ProbeFailure(code, message);
}

/** The `{ code, message }` a failed probe keeps (timeouts: CHECKER_PROBE_TIMEOUT). */
export function describeProbeError(error: unknown): { code: string; message: string } {
  if (error instanceof ProbeFailure) return { code: error.code, message: error.message };
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  const code = e?.name === 'TimeoutError' ? 'CHECKER_PROBE_TIMEOUT' : 'CHECKER_PROBE_FAILED';
  return { code, message: String(e?.message ?? error) };
}

/** Milliseconds to two decimals. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
