import { AV_LOG_ERROR, AV_LOG_QUIET } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { findError } from '../../protocol/errors.js';
import { H264Encoder, type H264EncoderOptions } from './H264Encoder.js';

/** What `probeEncoders` found out about one encoder. */
export interface EncoderProbe {
  name: string;
  ok: boolean;
  /** Why it is not usable (when `ok` is false). */
  reason?: string;
  /** Time to open and encode the test frame, ms. */
  ms: number;
}

export interface ProbeEncodersResult {
  /** Every encoder tried, in order. */
  probes: EncoderProbe[];
  /** Names of the encoders that opened and encoded a frame, in order of preference. */
  working: string[];
  /** The first working encoder (what sessions use), or undefined when none works. */
  selected: string | undefined;
}

/** The part of an encoder the probe needs (the real one is H264Encoder). */
export interface ProbeableEncoder {
  readonly planes: { y: Uint8Array; u: Uint8Array; v: Uint8Array };
  encode(pts: number, keyframe: boolean): Promise<Buffer | null>;
  close(): void;
}

export interface ProbeEncodersParameters {
  /** Encoder names in order of preference (default ['h264_nvenc', 'libx264']). */
  candidates?: readonly string[];
  /** Opens an encoder (default H264Encoder.open); tests inject failing ones. */
  open?: (options: H264EncoderOptions) => Promise<ProbeableEncoder>;
}

/**
 * Finds which H.264 encoders really work here: opens each and encodes one small keyframe. An encoder
 * that opens but fails on its first frame (NVENC without a GPU can) or produces no output counts as
 * not working.
 */
export async function probeEncoders(parameters: ProbeEncodersParameters = {}): Promise<ProbeEncodersResult> {
  const candidates = parameters.candidates ?? ['h264_nvenc', 'libx264'];
  const open = parameters.open ?? ((options: H264EncoderOptions) => H264Encoder.open(options));
  const probes: EncoderProbe[] = [];
  // A missing GPU makes NVENC print to stderr; the probe result says it in our log instead.
  Log.setLevel(AV_LOG_QUIET);
  for (const name of candidates) {
    const started = performance.now();
    let encoder: ProbeableEncoder | undefined;
    try {
      encoder = await open({ codec: name, width: 256, height: 144, fps: 30, bitrateKbps: 500, threads: 1 });
      const { y, u, v } = encoder.planes;
      y.fill(128);
      u.fill(128);
      v.fill(128);
      const unit = await encoder.encode(0, true);
      if (!unit || unit.length === 0) throw new Error('no output for the first frame');
      probes.push({ name, ok: true, ms: performance.now() - started });
    } catch (error) {
      const reason = findError(error)?.message ?? (error instanceof Error ? error.message : String(error));
      probes.push({ name, ok: false, reason, ms: performance.now() - started });
    } finally {
      encoder?.close();
    }
  }
  Log.setLevel(AV_LOG_ERROR);
  const working = probes.filter((probe) => probe.ok).map((probe) => probe.name);
  return { probes, working, selected: working[0] };
}
