import { AV_LOG_WARNING } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { type EncoderProbe, probeEncoders } from '../media/probeEncoders.js';

/** One encoder's probe with FFmpeg's own words for a failure and what to do about it. */
export interface EncoderDiagnosis extends EncoderProbe {
  /** FFmpeg's log lines (warning or worse) while the encoder was opened and fed a frame. */
  log: string[];
  /** The failure in plain words (when `ok` is false). */
  cause?: string;
  /** What the operator can do (when `ok` is false). */
  fix?: string;
}

const NVENC_CAUSES: ReadonlyArray<{ match: RegExp; cause: string; fix: string }> = [
  {
    match: /Cannot load (libcuda|libnvidia-encode)|libnvidia-encode\.so|nvcuda/i,
    cause: 'no NVIDIA driver (libcuda.so.1 / libnvidia-encode.so.1 cannot be loaded)',
    fix: 'install the NVIDIA driver with its encode library (Debian: apt-get install nvidia-driver libnvidia-encode1); in a container, run it with the GPU passed through (--gpus all, NVIDIA_DRIVER_CAPABILITIES=video,compute)',
  },
  {
    match:
      /Driver does not support the required nvenc API|minimum required Nvidia driver|driver version is insufficient/i,
    cause: 'the NVIDIA driver is too old for this FFmpeg’s NVENC API',
    fix: 'update the NVIDIA driver to the version FFmpeg names in the log line above',
  },
  {
    match:
      /No capable devices found|no NVENC capable devices|CUDA_ERROR_NO_DEVICE|no CUDA-capable device|cuInit\(0\) failed|device.*not.*found/i,
    cause: 'no NVENC-capable GPU is visible to this process',
    fix: 'check the GPU with `nvidia-smi`; in a container pass the device through (--gpus all); a GPU without NVENC (e.g. some data-centre cards) cannot encode',
  },
  {
    match:
      /OpenEncodeSessionEx failed: (out of memory|incompatible client key)|session limit|too many (concurrent )?sessions/i,
    cause: 'the GPU’s limit of concurrent NVENC sessions is reached',
    fix: 'stop other NVENC users (OBS, another edge, `nvidia-smi` lists them) or lower `capacity`; consumer GeForce drivers allow a few sessions at once',
  },
];

/** Turns a failed NVENC open into its cause and fix, from FFmpeg's log and the open error. */
function explainNvenc(reason: string, log: readonly string[]): { cause: string; fix: string } {
  const text = [...log, reason].join('\n');
  for (const known of NVENC_CAUSES) if (known.match.test(text)) return { cause: known.cause, fix: known.fix };
  const said = log.at(-1) ?? reason;
  return {
    cause: `NVENC did not open: ${said}`,
    fix: 'run `nvidia-smi` and check the driver; the line above is FFmpeg’s own reason',
  };
}

/**
 * Really opens each H.264 encoder (one keyframe, as the edge does at start) and, for each failure, says why
 * in FFmpeg's words and what to do; NVENC failures are sorted into no driver, driver too old, no device and
 * session limit.
 */
export async function diagnoseEncoders(candidates: readonly string[]): Promise<EncoderDiagnosis[]> {
  const diagnoses: EncoderDiagnosis[] = [];
  for (const name of candidates) {
    const log: string[] = [];
    Log.setCallback(
      (_level, message) => {
        const line = message.trim();
        if (line !== '' && log.length < 20) log.push(line);
      },
      { maxLevel: AV_LOG_WARNING },
    );
    let probe: EncoderProbe | undefined;
    try {
      probe = (await probeEncoders({ candidates: [name] })).probes[0];
      // FFmpeg's log lines reach JavaScript through a queued callback: let the queue drain first.
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      Log.setCallback(null);
    }
    if (!probe) continue;
    if (probe.ok) {
      diagnoses.push({ ...probe, log });
    } else if (name.includes('nvenc')) {
      diagnoses.push({ ...probe, log, ...explainNvenc(probe.reason ?? '', log) });
    } else {
      diagnoses.push({
        ...probe,
        log,
        cause: log.at(-1) ?? probe.reason ?? 'did not open',
        fix:
          name === 'libx264'
            ? 'this FFmpeg build lacks x264; reinstall node-av (npm ci) so its bundled FFmpeg is used'
            : `remove ${name} from \`encoders\` if this machine has no such hardware`,
      });
    }
  }
  return diagnoses;
}
