// `npm run bench:stream [-- --seconds 30 --width 1280 --height 720 --fps 60 --warmup 4 --bitrate 6000]`
// One standalone edge (in this process, createEdge) streams the latency-probe scene to the real player
// page in headless Debian Chromium over loopback. The page reads the frame stamps (frame number,
// capture time, last input seq) out of every presented frame (requestVideoFrameCallback + canvas) and
// presses a key every 250 ms. Last line: one JSON object (figures in ms unless named otherwise):
//   glassToGlassMs      capture (edge Date.now) → expected display time of the frame; includes the wait for
//                       the compositor's next 60 Hz tick (0–16.7 ms)
//   captureToReceiveMs  capture → last packet of the frame received by the browser (rVFC receiveTime):
//                       the same path without the display tick
//   edgeMs              frame ready → its last RTP packet sent (edge.stats()), encodeMs: time in the encoder
//   inputRttMs          data-channel ping → pong (player ↔ edge); inputLegsMs splits it: pageToEdge = the page's
//                       ping send → the edge's pong send (one system clock; the page's performance.now() is
//                       coarsened to 0.1 ms), edgeToPageP50 = inputRtt p50 − pageToEdge p50
//   inputToPhotonMs     keyDown sent → first displayed frame whose stamp shows that key's seq
//   deliveredFps        frames decoded per second (getStats), displayedFps: stamped frames presented / s
//   edgeCpuCores        CPU time of this process (edge + the playwright driver, which idles) / wall time
// `--chrome-zero-playout-delay` starts Chromium with the field trial WebRTC-ForcePlayoutDelay/min_ms:0,max_ms:0/
// (what the playout-delay RTP header extension with min = max = 0 would do) to show what the receiver's
// jitter buffer costs; the JSON then says `"chromeZeroPlayoutDelayTrial": true`. Not what users get.
// `--runtime x11 --game <square|ltris|folder>` streams a native X11 game instead: a local matchmaker, the game
// published into it with `farplay studio publish`, an edge running it under Xvfb (x11grab → I420 → the same
// encoder); the edge stamps the captured frames like the built-in ones, so the same figures come out, plus
//   captureMs           grab returned → frame ready in the encoder's planes (conversion + copy), on the edge
// `--capacity` runs E1's bench/capacity.ts instead (`runCapacityBench`) and prints its line
// (passes --window / --start / --max through); with `--runtime x11 --game <id>` its sessions are the native
// game at 720p30 through a local matchmaker and one in-process x11 edge.
import { availableParallelism, loadavg } from 'node:os';
import { pino } from 'pino';
import { parseEdgeConfig } from '../edge/config.js';
import { createEdge } from '../edge/createEdge.js';
import type { Edge } from '../edge/Edge.js';
import { builtInGames } from '../edge/games/builtInGames.js';
import { latencyProbeGame } from '../edge/games/latencyProbe.js';
import { SessionKey } from '../player/src/SessionKey.js';
import type { CreateSessionResponse } from '../protocol/playerApi.js';
import { ensurePlayerBuilt } from '../scripts/buildPlayer.js';
import { launchChromium } from '../test/support/chromium.js';
import { askForStamps, readHook, runInPage, takeSamples, until } from '../test/support/playerPage.js';
import { arg, log, round, sleep } from './benchCommon.js';
import { runCapacityBench } from './capacity.js';
import { startNativeStreamTarget } from './nativeStreamTarget.js';
import { recordPongLegs } from './pongLegs.js';

function numberArg(name: string, fallback: number): number {
  const raw = arg(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number, got ${raw}`);
  return value;
}

/** Nearest-rank percentiles of `values` (sorted in place); zeros when empty. */
function percentiles(values: number[]): {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
} {
  if (values.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  values.sort((a, b) => a - b);
  const at = (q: number) => round(values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] ?? 0);
  return { count: values.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(values.at(-1) ?? 0) };
}

async function runCapacity(): Promise<void> {
  const options: Parameters<typeof runCapacityBench>[0] = {};
  const window = arg('window');
  const start = arg('start');
  const max = arg('max');
  if (window !== undefined) options.windowSeconds = Number(window);
  if (start !== undefined) options.start = Number(start);
  if (max !== undefined) options.max = Number(max);
  if ((arg('runtime') ?? 'builtin') !== 'x11') {
    console.log(JSON.stringify(await runCapacityBench(options)));
    return;
  }
  // A native game at 720p30: published into a local matchmaker, allocated to one in-process x11 edge (the
  // receivers share this process with it), every session through POST /v1/sessions.
  const { dir } = await ensurePlayerBuilt({ testHook: true });
  const game = { width: 1280, height: 720, fps: 30 };
  const target = await startNativeStreamTarget({
    game: arg('game') ?? 'square',
    ...game,
    bitrateKbps: numberArg('bitrate', 6000),
    staticDir: dir,
    capacity: options.max ?? 16,
    logger: pino({ level: 'warn' }),
  });
  try {
    const result = await runCapacityBench({
      ...options,
      edgeUrl: target.edgeUrl,
      sessions: {
        encoder: target.edge.encoderProbe.selected ?? 'none',
        game: { id: target.gameId, ...game },
        createSession: async () => {
          const response = await fetch(`${target.matchmakerUrl}/v1/sessions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              gameId: target.gameId,
              measurements: [],
              sessionKey: SessionKey.create().address,
            }),
          });
          if (!response.ok) throw new Error(`POST /v1/sessions: ${response.status} ${await response.text()}`);
          return (await response.json()) as CreateSessionResponse;
        },
      },
    });
    console.log(JSON.stringify({ runtime: 'x11', game: target.gameId, loadAverage: loadavg(), ...result }));
  } finally {
    await target.close();
  }
}

async function runStream(): Promise<void> {
  const seconds = numberArg('seconds', 30);
  const warmup = numberArg('warmup', 4);
  const width = numberArg('width', 1280);
  const height = numberArg('height', 720);
  const fps = numberArg('fps', 60);
  const bitrate = numberArg('bitrate', 6000);
  const keyEveryMs = 250;

  const runtime = arg('runtime') ?? 'builtin';
  if (runtime !== 'builtin' && runtime !== 'x11')
    throw new Error(`--runtime must be builtin or x11, got ${runtime}`);
  const { dir } = await ensurePlayerBuilt({ testHook: true });
  const target =
    runtime === 'x11'
      ? await startNativeStreamTarget({
          game: arg('game') ?? 'square',
          width,
          height,
          fps,
          bitrateKbps: bitrate,
          staticDir: dir,
          logger: pino({ level: 'warn' }),
        })
      : await startProbeTarget(dir, width, height, fps, bitrate);
  const { edge } = target;
  const url = target.pageUrl;
  const zeroPlayoutTrial = process.argv.includes('--chrome-zero-playout-delay');
  const legs = recordPongLegs();
  const browser = await launchChromium({
    viewport: { width: width + 40, height: height + 160 },
    extraArgs: zeroPlayoutTrial ? ['--force-fieldtrials=WebRTC-ForcePlayoutDelay/min_ms:0,max_ms:0/'] : [],
  });
  try {
    await askForStamps(browser.context); // glass-to-glass and input-to-photon read the frame stamps
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => log(`page error: ${error.message}`));
    log(
      `bench:stream ${runtime} ${width}x${height}@${fps} for ${seconds}s (+${warmup}s warm-up), ${url}, load ${loadavg()[0]?.toFixed(2)}`,
    );
    await page.goto(url);
    await until(
      () => readHook(page, 'lastStamp'),
      (stamp) => stamp !== null,
      { timeoutMs: 90_000, what: 'the first stamped frame' },
    );
    if ((await readHook(page, 'state')) !== 'playing') throw new Error('the stream did not start');
    await sleep(warmup * 1000);

    // Measurement window: starts when the page's decoded-frame count refreshes (every 500 ms); clear
    // samples and edge timings then, and start key presses in the page.
    const decodedAtStart = await readHook(page, 'framesDecoded');
    const startDecoded = await until(
      () => readHook(page, 'framesDecoded'),
      (frames) => frames !== decodedAtStart,
      { stepMs: 10 },
    );
    await takeSamples(page);
    const pageTimeOrigin = await runInPage<number>(page, '() => performance.timeOrigin');
    legs.take(pageTimeOrigin);
    edge.resetTimings();
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    const sentStart = edge.stats().sessions[0]?.framesSent ?? 0;
    await runInPage(
      page,
      `(period) => {
        let right = true;
        window.__benchKeys = setInterval(() => {
          window.__farplay.sendKey(right ? 'ArrowRight' : 'ArrowLeft');
          right = !right;
        }, period);
      }`,
      keyEveryMs,
    );
    await sleep(seconds * 1000);
    await runInPage(page, '() => clearInterval(window.__benchKeys)');
    const decodedAtEnd = await readHook(page, 'framesDecoded');
    const endDecoded = await until(
      () => readHook(page, 'framesDecoded'),
      (frames) => frames !== decodedAtEnd,
      { stepMs: 10 },
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const edgeStats = edge.stats();
    const session = edgeStats.sessions[0];
    const samples = await takeSamples(page);
    const pageToEdge = percentiles(legs.take(pageTimeOrigin).pageToEdge);
    await sleep(300); // the last key presses show up a little after the window
    samples.inputToPhotonMs.push(...(await takeSamples(page)).inputToPhotonMs);
    const stats = await readHook(page, 'stats');
    const encoder = (await readHook(page, 'encoder')) ?? edge.info().encoder;
    await page.close();

    const glass = percentiles(samples.glassToGlassMs);
    const inputRtt = percentiles(samples.inputRttMs);
    const result = {
      runtime,
      ...(runtime === 'x11' ? { game: (target as { gameId?: string }).gameId } : {}),
      encoder,
      width,
      height,
      fps,
      seconds: round(elapsed),
      glassToGlassMs: glass,
      captureToReceiveMs: percentiles(samples.captureToReceiveMs),
      edgeMs: { p50: edgeStats.edgeMs.p50, p95: edgeStats.edgeMs.p95, p99: edgeStats.edgeMs.p99 },
      encodeMs: { p50: edgeStats.encodeMs.p50, p99: edgeStats.encodeMs.p99 },
      ...(runtime === 'x11'
        ? { captureMs: { p50: edgeStats.captureMs.p50, p99: edgeStats.captureMs.p99 } }
        : {}),
      browserDecodeMs: percentiles(samples.processingMs),
      inputRttMs: inputRtt,
      inputLegsMs: { pageToEdge, edgeToPageP50: round(inputRtt.p50 - pageToEdge.p50) },
      inputToPhotonMs: percentiles(samples.inputToPhotonMs),
      deliveredFps: round((endDecoded - startDecoded) / elapsed),
      displayedFps: round(glass.count / elapsed),
      sentFps: round(((session?.framesSent ?? 0) - sentStart) / elapsed),
      framesDroppedAtEdge: (session?.framesDroppedBusy ?? 0) + (session?.framesDroppedLate ?? 0),
      bitrateKbps: round(stats.bitrateKbps ?? 0),
      jitterBufferMsLast: round(stats.jitterBufferMs ?? 0),
      edgeCpuCores: round((cpu.user + cpu.system) / 1e6 / elapsed),
      chromeZeroPlayoutDelayTrial: zeroPlayoutTrial,
      cores: availableParallelism(),
      loadAverage1m: round(loadavg()[0] ?? 0),
    };
    console.log(JSON.stringify(result));
  } finally {
    legs.stop();
    await browser.close();
    await target.close();
  }
}

/** The built-in target: a standalone edge with the latency-probe scene at the bench's size and rate. */
async function startProbeTarget(
  staticDir: string,
  width: number,
  height: number,
  fps: number,
  bitrate: number,
): Promise<{ edge: Edge; pageUrl: string; close(): Promise<void> }> {
  const base = latencyProbeGame('0', fps);
  const probe = {
    ...base,
    info: { ...base.info, id: 'bench-probe', title: 'Latency probe (bench)', width, height, fps },
  };
  const server = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      staticDir,
      capacity: 1,
      videoBitrateKbps: bitrate,
      logLevel: 'warn',
      allowPrivateCandidates: true, // the player is on loopback
    }),
    logger: pino({ level: 'warn' }),
    games: [...builtInGames(), probe],
  });
  const url = await server.listen({ port: 0 });
  return { edge: server.edge, pageUrl: `${url}/#/play/bench-probe`, close: () => server.close() };
}

(process.argv.includes('--capacity') ? runCapacity() : runStream()).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
