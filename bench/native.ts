// `npm run bench:native` (tsx bench/native.ts [--seconds 10] [--max 8]): a native X11 game (the small C test
// game, compiled here) captured on this machine with the edge's own parts: Xvfb, bubblewrap, x11grab → I420,
// libx264 (or NVENC where it opens). Prints, per mode (720p30, 720p60): capture+convert ms (grab returned →
// I420 ready), capture → encoded ms, encode ms, delivered fps, and CPU (cores) of the whole session (edge
// process + Xvfb + game + PulseAudio); then how many concurrent 720p30 native sessions hold >= 95 % of
// their fps. No WebRTC: the stream benchmark measures that part. Last line: one JSON object.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { H264Encoder } from '../edge/media/H264Encoder.js';
import { probeEncoders } from '../edge/media/probeEncoders.js';
import { NativeGame } from '../edge/native/NativeGame.js';
import { buildNativeGamePackage } from '../test/support/nativeGame.js';
import { log, round, sleep } from './benchCommon.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    max: { type: 'string', default: '8' },
    'skip-capacity': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number);
};

const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU seconds used so far by every live descendant of this process (Xvfb, the game, PulseAudio). */
function childrenCpuSeconds(): number {
  const parents = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(name), Number(fields[1]));
      cpu.set(Number(name), (Number(fields[11]) + Number(fields[12])) / TICKS);
    } catch {
      // Gone meanwhile.
    }
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    let p = parents.get(pid);
    while (p !== undefined && p > 1 && p !== process.pid) p = parents.get(p);
    if (p === process.pid) total += seconds;
  }
  return total;
}

interface Session {
  game: NativeGame;
  encoder: H264Encoder;
  captureMs: number[];
  encodeMs: number[];
  totalMs: number[];
  encoded: number;
  busy: number;
}

async function startSession(
  id: string,
  pkg: string,
  runtimeDir: string,
  fps: number,
  codec: string,
): Promise<Session> {
  const width = 1280;
  const height = 720;
  const game = await NativeGame.start({
    id,
    command: `./game --fps ${fps}`,
    packageDir: pkg,
    runtimeDir,
    width,
    height,
    fps,
  });
  const encoder = await H264Encoder.open({ codec, width, height, fps, bitrateKbps: 4000 });
  const session: Session = { game, encoder, captureMs: [], encodeMs: [], totalMs: [], encoded: 0, busy: 0 };
  let inFlight = false;
  let frameNo = 0;
  game.on('frame', (frame) => {
    if (inFlight) {
      session.busy++;
      return;
    }
    const started = performance.now();
    const grabbedAt = started - frame.convertMs;
    const target = encoder.planes;
    copyPlane(frame.planes.y, frame.planes.strideY, target.y, target.strideY, target.width, target.height);
    copyPlane(
      frame.planes.u,
      frame.planes.strideU,
      target.u,
      target.strideU,
      target.width / 2,
      target.height / 2,
    );
    copyPlane(
      frame.planes.v,
      frame.planes.strideV,
      target.v,
      target.strideV,
      target.width / 2,
      target.height / 2,
    );
    inFlight = true;
    const pts = Math.round((frameNo++ * 90_000) / fps);
    void encoder
      .encode(pts, frameNo === 1)
      .then(() => {
        const done = performance.now();
        session.captureMs.push(frame.convertMs);
        session.encodeMs.push(done - started);
        session.totalMs.push(done - grabbedAt);
        session.encoded++;
      })
      .catch(() => undefined)
      .finally(() => {
        inFlight = false;
      });
  });
  return session;
}

function copyPlane(
  src: Uint8Array,
  srcStride: number,
  dst: Uint8Array,
  dstStride: number,
  w: number,
  h: number,
): void {
  if (srcStride === dstStride) {
    dst.set(src.subarray(0, srcStride * h));
    return;
  }
  for (let row = 0; row < h; row++)
    dst.set(src.subarray(row * srcStride, row * srcStride + w), row * dstStride);
}

async function closeSession(s: Session): Promise<void> {
  await s.game.close();
  s.encoder.close();
}

function reset(s: Session): void {
  s.captureMs = [];
  s.encodeMs = [];
  s.totalMs = [];
  s.encoded = 0;
  s.busy = 0;
}

async function measureMode(pkg: string, runtimeDir: string, fps: number, codec: string) {
  const s = await startSession(`bench-${fps}`, pkg, runtimeDir, fps, codec);
  try {
    await sleep(2000);
    reset(s);
    const cpu0 = process.cpuUsage();
    const children0 = childrenCpuSeconds();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(cpu0);
    const cpuCores = ((own.user + own.system) / 1e6 + (childrenCpuSeconds() - children0)) / elapsed;
    return {
      mode: `720p${fps}`,
      captureMs: { p50: pct(s.captureMs, 0.5), p99: pct(s.captureMs, 0.99) },
      captureToEncodedMs: { p50: pct(s.totalMs, 0.5), p99: pct(s.totalMs, 0.99) },
      encodeMs: { p50: pct(s.encodeMs, 0.5), p99: pct(s.encodeMs, 0.99) },
      fps: round(s.encoded / elapsed),
      busyDrops: s.busy,
      cpuCores: round(cpuCores),
    };
  } finally {
    await closeSession(s);
  }
}

async function capacity(pkg: string, runtimeDir: string, codec: string, max: number) {
  const sessions: Session[] = [];
  const steps: { sessions: number; minFps: number; ok: boolean }[] = [];
  let best = 0;
  try {
    for (let n = 1; n <= max; n++) {
      sessions.push(await startSession(`cap-${n}`, pkg, runtimeDir, 30, codec));
      await sleep(2000);
      for (const s of sessions) reset(s);
      const t0 = performance.now();
      await sleep(seconds * 1000);
      const elapsed = (performance.now() - t0) / 1000;
      const fpsEach = sessions.map((s) => round(s.encoded / elapsed));
      const minFps = Math.min(...fpsEach);
      const ok = minFps >= 30 * 0.95;
      steps.push({ sessions: n, minFps, ok });
      log(`capacity: ${n} sessions, fps ${fpsEach.join(' ')} → ${ok ? 'ok' : 'below 95 %'}`);
      if (!ok) break;
      best = n;
    }
  } finally {
    for (const s of sessions) await closeSession(s);
  }
  return { sessions: best, steps };
}

const pkg = buildNativeGamePackage();
const runtimeDir = join(tmpdir(), `farplay-bench-native-${process.pid}`);
try {
  const probe = await probeEncoders();
  const codec = probe.selected ?? 'libx264';
  const modes = [];
  for (const fps of [30, 60]) {
    const result = await measureMode(pkg, runtimeDir, fps, codec);
    log(JSON.stringify(result));
    modes.push(result);
  }
  const cap = values['skip-capacity'] ? null : await capacity(pkg, runtimeDir, codec, Number(values.max));
  process.stdout.write(
    `${JSON.stringify({
      bench: 'native',
      encoder: codec,
      width: 1280,
      height: 720,
      seconds,
      modes,
      capacity720p30: cap,
      cores: Number(execFileSync('nproc').toString().trim()),
      loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
    })}\n`,
  );
} finally {
  rmSync(pkg, { recursive: true, force: true });
  rmSync(runtimeDir, { recursive: true, force: true });
}
