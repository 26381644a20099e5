import { describe, expect, it } from 'vitest';
import { H264Encoder } from '../../edge/media/H264Encoder.js';
import { OpusEncoder } from '../../edge/media/OpusEncoder.js';
import { type ProbeableEncoder, probeEncoders } from '../../edge/media/probeEncoders.js';
import { FarplayError } from '../../protocol/errors.js';
import { readFrameStampLuma, writeFrameStamp } from '../../protocol/frameStamp.js';

/** NAL unit types in an Annex-B access unit. */
function nalTypes(unit: Buffer): number[] {
  const types: number[] = [];
  for (let i = 0; i + 3 < unit.length; i++) {
    if (unit[i] === 0 && unit[i + 1] === 0 && unit[i + 2] === 1) types.push((unit[i + 3] ?? 0) & 0x1f);
  }
  return types;
}

/** True when `codec` opens and encodes one frame here (what a session would get). */
async function opensAndEncodes(codec: string): Promise<boolean> {
  let encoder: H264Encoder | undefined;
  try {
    encoder = await H264Encoder.open({ codec, width: 256, height: 144, fps: 30, bitrateKbps: 500 });
    encoder.planes.y.fill(128);
    const unit = await encoder.encode(0, true);
    return unit !== null && unit.length > 0;
  } catch {
    return false;
  } finally {
    encoder?.close();
  }
}

/** libx264 at `width`×`height`, `fps`, `bitrateKbps` (every machine has it). */
const openX264 = (width: number, height: number, fps: number, bitrateKbps: number) =>
  H264Encoder.open({ codec: 'libx264', width, height, fps, bitrateKbps });

describe('H.264 encoder selection (real FFmpeg via node-av)', () => {
  it('reports each encoder as working exactly when it really opens and encodes here, and picks the first', async () => {
    const candidates = ['h264_nvenc', 'libx264'];
    const result = await probeEncoders({ candidates });
    // What really happens on this machine (a GPU edge opens NVENC; a CPU-only one does not).
    const really: string[] = [];
    for (const codec of candidates) if (await opensAndEncodes(codec)) really.push(codec);
    expect(result.working).toEqual(really);
    expect(result.selected).toBe(really[0]);
    for (const probe of result.probes) {
      expect(probe.ok).toBe(really.includes(probe.name));
      if (!probe.ok) expect(probe.reason).toBeTruthy();
    }
  });

  // A first candidate that fails its own way, then x264: the probe names why, selects x264 and closes every encoder
  // it opened. `fails` is where the first candidate fails (the real FFmpeg decides for one it does not have).
  const brokenFirst = [
    {
      why: 'NVENC fails to open (a GPU edge whose driver is gone)',
      codec: 'h264_nvenc',
      fails: 'open',
      reason: 'no CUDA device',
    },
    {
      why: 'FFmpeg does not have the encoder',
      codec: 'h264_no_such_encoder',
      fails: 'ffmpeg',
      reason: 'not in this FFmpeg',
    },
    {
      why: 'the first opens but fails on its first frame',
      codec: 'lazy_gpu_encoder',
      fails: 'encode',
      reason: 'first frame',
    },
  ] as const;

  for (const { why, codec, fails, reason } of brokenFirst) {
    it(`falls back to x264 when ${why}`, async () => {
      const closed: string[] = [];
      const result = await probeEncoders({
        candidates: [codec, 'libx264'],
        open: async (options): Promise<ProbeableEncoder> => {
          if (options.codec === codec && fails === 'open') {
            throw new FarplayError('EDGE_NO_ENCODER', `encoder ${codec} failed to open: no CUDA device`);
          }
          if (options.codec === codec && fails === 'encode') {
            // Opens fine, like NVENC without a GPU, then fails on the first frame.
            return {
              planes: { y: new Uint8Array(16), u: new Uint8Array(4), v: new Uint8Array(4) },
              encode: async () => {
                throw new FarplayError('EDGE_ENCODER_FAILED', 'no CUDA device at first frame');
              },
              close: () => closed.push(options.codec),
            };
          }
          const real = await H264Encoder.open(options);
          return {
            planes: real.planes,
            encode: (pts, key) => real.encode(pts, key),
            close: () => {
              closed.push(options.codec);
              real.close();
            },
          };
        },
      });
      expect(result.probes.map((probe) => [probe.name, probe.ok])).toEqual([
        [codec, false],
        ['libx264', true],
      ]);
      expect(result.probes[0]?.reason).toContain(reason);
      expect(result.selected).toBe('libx264');
      expect(closed).toEqual(fails === 'encode' ? [codec, 'libx264'] : ['libx264']);
    });
  }

  it('encodes stamped frames, forces IDR keyframes on request and changes bitrate while running', async () => {
    const encoder = await openX264(640, 360, 30, 1500);
    try {
      const units: Buffer[] = [];
      for (let i = 0; i < 12; i++) {
        const planes = encoder.planes;
        planes.y.fill(40 + i * 10);
        writeFrameStamp(planes, { frame: i, captureTimeMs: 1000 + i, inputSeq: 0 });
        if (i === 6) encoder.setBitrate(600);
        const unit = await encoder.encode(i * 3000, i === 8);
        expect(unit).not.toBeNull();
        units.push(unit as Buffer);
      }
      // First frame: SPS + PPS + IDR; the forced one too (repeat headers); the others are P slices.
      expect(nalTypes(units[0] as Buffer)).toEqual(expect.arrayContaining([7, 8, 5]));
      expect(nalTypes(units[8] as Buffer)).toEqual(expect.arrayContaining([7, 8, 5]));
      expect(nalTypes(units[3] as Buffer)).not.toContain(5);
      expect(encoder.bitrateKbps).toBe(600);
      expect(readFrameStampLuma(encoder.planes.y, encoder.planes.strideY, 640, 360)?.frame).toBe(11);
    } finally {
      encoder.close();
    }
    expect(encoder.closed).toBe(true);
    await expect(encoder.encode(0, false)).rejects.toMatchObject({ code: 'EDGE_ENCODER_FAILED' });
  });

  it('follows a bitrate change on the running encoder: the output drops within frames, with no keyframe or new SPS', async () => {
    const encoder = await openX264(640, 360, 60, 4000);
    try {
      // Noise needs every bit it is given, so the output size shows the rate control's target.
      let seed = 1;
      const sizes: number[] = [];
      const types: number[][] = [];
      for (let i = 0; i < 120; i++) {
        const { y, u, v } = encoder.planes;
        for (const plane of [y, u, v]) {
          for (let j = 0; j < plane.length; j++) {
            seed = (seed * 1_103_515_245 + 12_345) >>> 0;
            plane[j] = seed >>> 24;
          }
        }
        if (i === 60) encoder.setBitrate(500);
        const unit = await encoder.encode(i * 1500, i === 0);
        expect(unit).not.toBeNull();
        sizes.push((unit as Buffer).length);
        types.push(nalTypes(unit as Buffer));
      }
      const kbps = (from: number, to: number) =>
        (sizes.slice(from, to).reduce((sum, size) => sum + size, 0) * 8 * 60) / (to - from) / 1000;
      // Settled before the change (~4 Mbit/s), and after it (~0.5 Mbit/s): the same encoder followed.
      expect(kbps(30, 60)).toBeGreaterThan(3000);
      expect(kbps(90, 120)).toBeLessThan(700);
      expect(kbps(90, 120)).toBeGreaterThan(300);
      // Only the first frame is an IDR with SPS/PPS: the change re-opened nothing.
      expect(types[0]).toEqual(expect.arrayContaining([7, 8, 5]));
      for (const nals of types.slice(1)) {
        expect(nals).not.toContain(5);
        expect(nals).not.toContain(7);
      }
    } finally {
      encoder.close();
    }
  });

  it('H.264 and Opus share one busy rule: a second encode while one is in flight is refused', async () => {
    const video = await openX264(320, 240, 30, 500);
    const audio = await OpusEncoder.open(64);
    try {
      const first = video.encode(0, true);
      await expect(video.encode(3000, false)).rejects.toMatchObject({ code: 'EDGE_ENCODER_FAILED' });
      await first;
      const sound = audio.encode(0);
      await expect(audio.encode(960)).rejects.toMatchObject({ code: 'EDGE_ENCODER_FAILED' });
      await sound;
    } finally {
      video.close();
      audio.close();
    }
    await expect(audio.encode(0)).rejects.toMatchObject({ code: 'EDGE_ENCODER_FAILED' });
  });
});
