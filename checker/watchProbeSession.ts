import type { Address } from 'viem';
import { StreamReceiver } from '../edge/operator/StreamReceiver.js';
import { roundMs, type SessionProbe } from './edgeProbes.js';
import { encoderSignature, type H264Sps, parseSps, splitAnnexB } from './h264Stream.js';

/** Below this share of the claimed fps over the window, a synthetic session's frame rate is contradicted. */
const MIN_FPS_RATIO = 0.5;
/** Longest wait for the first frame of a synthetic session, ms. */
const FIRST_FRAME_TIMEOUT_MS = 15_000;

/**
 * What a synthetic session proves (checker/README.md, Probes): after the first complete frame, `windowMs` of the
 * stream are counted and read, and each of the edge's claims is checked against it.
 */
export async function watchProbeSession(
  receiver: ProbeReceiver,
  c: {
    /** How long to receive after the first frame, ms. */
    windowMs: number;
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
  const firstFrameMs = roundMs(performance.now() - c.started);
  const from = receiver.framesReceived;
  const incompleteFrom = receiver.framesIncomplete;
  const windowStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, c.windowMs));
  const windowMs = roundMs(performance.now() - windowStart);
  const frames = receiver.framesReceived - from;
  const fps = roundMs((frames * 1000) / windowMs);
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
export class ProbeReceiver extends StreamReceiver {
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

/** Whether a URL names this host (the receiver then gathers loopback candidates only). */
export function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}
