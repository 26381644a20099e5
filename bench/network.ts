// `npm run bench:network [-- --seconds 30 --warmup 5 --scenarios drop,loss,jitter --congestion off,on --fec off,on]`
// (needs root: netlab). One standalone edge (test/tools/NetLabEdge.ts) runs inside a netlab namespace;
// headless Chromium in the root namespace plays the stress scene (720p60) through the lab's emulated
// link. Each scenario runs once per `--congestion` mode (default both: `off` = a fixed 6 Mbit/s as
// before transport-cc, `on` = the edge's congestion control), so the JSON holds before and after; with
// congestion control, once per `--fec` mode too (default on, as the edge's: ULPFEC in RED when the page
// negotiates it and the Dependency Descriptor, keyed `on+fec`; `off` keyed `on`).
// Scenarios:
//   drop    edge uplink 20 Mbit/s, 3 Mbit/s from 10 s to 20 s, back to 20; RTT 20 ms
//   loss    2 % random loss each way at 20 Mbit/s, RTT 30 ms
//   jitter  RTT 60 ms with ±10 ms jitter on the edge's leg, 20 Mbit/s
//   drop1   (optional) as drop but to 1 Mbit/s: the transient where a loaded CPU keeps the encoder under 3
//   cap2    (optional) a steady 2 Mbit/s uplink, RTT 20 ms
//   cap4    (optional) a steady 4 Mbit/s uplink, RTT 20 ms
// Per scenario: reactMs (link drop → the edge's send rate over 300 ms under the link rate), rampMs
// (link back → send rate ≥ 80 % of the link or of the encoder's target), estimateRampMs (link back → the
// estimate ≥ 80 % of the link: the network side alone, when a short CPU keeps the encoder under it), freezeCount / freezeMs
// (Chromium's inbound-rtp freezes during the window), deliveredFps per phase (frames decoded),
// send / receive Mbit/s per phase, glass-to-glass and capture → receive {p50, p95} per phase (frame
// stamps read in the page; the page's samples are collected at every 100 ms poll, so a phase can be
// split), and for a scenario with a drop (drop, drop1) the same two over the frames shown after the edge
// reacted: the low phase's `captureToReceiveOnceReactedMs` / `glassToGlassOnceReactedMs` count only frames
// shown from drop + reactMs to the link's return, the recovery phase's `captureToReceiveOnceRampedMs` /
// `glassToGlassOnceRampedMs` only those from return + rampMs to the end ({fromS, count, p50, p95}, fromS
// in window seconds; null when the edge never reacted / ramped), the estimate and quality changes the edge reported, and the edge's own
// frame counters per phase and in all (`edgeFrames`: sent, dropped busy / late / congested, keyframes,
// PLIs, NACKs, ladder moves `rungChanges`, encoder re-opens `reopens`, packets re-sent `retransmitted`,
// frames a keyframe replaced in the pacer's queue `superseded`;
// per phase also Chromium's freezeMs and packetsLost; `maxQueueMs`: the pacer's
// queue; with FEC `fecPackets` sent, Chromium's `fecReceived` / `fecDiscarded`, and `wireMbps`: what the
// pacer sent, media + FEC + re-sends). Last line: one JSON. BENCH_NETWORK_POLLS=/tmp/x writes each scenario's
// 100 ms polls to /tmp/x.<scenario>.json (estimate, reasons, pacer queue, the path's queue `pathQueueMs`,
// bytes sent, Chromium's counters) and the page's latency samples per poll to /tmp/x.<scenario>.batches.json.
import { writeFileSync } from 'node:fs';
import type { LatencySamples } from '../player/src/hookTypes.js';
import { ensurePlayerBuilt } from '../scripts/buildPlayer.js';
import { type LaunchedChromium, launchChromium } from '../test/support/chromium.js';
import { CAPTURE_PEERS, type InboundVideo, readInboundVideo } from '../test/support/inboundVideo.js';
import { askForStamps, readHook, takeSamples, until } from '../test/support/playerPage.js';
import { NetLabEdge } from '../test/tools/NetLabEdge.js';
import { createNetLab, type NetLab } from '../test/tools/netlab/createNetLab.js';
import { netLabUnsupportedReason } from '../test/tools/netlab/netLabUnsupportedReason.js';
import { arg, log, round, sleep } from './benchCommon.js';

function percentiles(values: number[]): { count: number; p50: number; p95: number } {
  if (values.length === 0) return { count: 0, p50: 0, p95: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95) };
}

interface Scenario {
  name: string;
  /** One-way delays (RTT = 2 × (root + edge)). */
  rootDelayMs: number;
  edgeDelayMs: number;
  jitterMs: number;
  lossPct: number;
  /** Edge uplink over time (s since the window start) → kbit/s. */
  rateKbit: (seconds: number) => number;
  /** Times (s) the link changes, for phases. */
  changes: number[];
}

const SCENARIOS: Record<string, Scenario> = {
  drop: {
    name: 'drop',
    rootDelayMs: 5,
    edgeDelayMs: 5,
    jitterMs: 0,
    lossPct: 0,
    rateKbit: (s) => (s >= 10 && s < 20 ? 3000 : 20_000),
    changes: [10, 20],
  },
  loss: {
    name: 'loss',
    rootDelayMs: 7.5,
    edgeDelayMs: 7.5,
    jitterMs: 0,
    lossPct: 2,
    rateKbit: () => 20_000,
    changes: [],
  },
  jitter: {
    name: 'jitter',
    rootDelayMs: 15,
    edgeDelayMs: 15,
    jitterMs: 10,
    lossPct: 0,
    rateKbit: () => 20_000,
    changes: [],
  },
  drop1: {
    // (optional) the drop scenario's transient on a loaded machine, where the CPU keeps the encoder
    // under 3 Mbit/s anyway: the link falls to 1 Mbit/s instead.
    name: 'drop1',
    rootDelayMs: 5,
    edgeDelayMs: 5,
    jitterMs: 0,
    lossPct: 0,
    rateKbit: (s) => (s >= 10 && s < 20 ? 1000 : 20_000),
    changes: [10, 20],
  },
  cap2: {
    name: 'cap2',
    rootDelayMs: 5,
    edgeDelayMs: 5,
    jitterMs: 0,
    lossPct: 0,
    rateKbit: () => 2000,
    changes: [],
  },
  cap4: {
    name: 'cap4',
    rootDelayMs: 5,
    edgeDelayMs: 5,
    jitterMs: 0,
    lossPct: 0,
    rateKbit: () => 4000,
    changes: [],
  },
};

/** The edge's own frame counters (cumulative), to see where frames go. */
interface EdgeFrames {
  sent: number;
  droppedBusy: number;
  droppedLate: number;
  droppedCongested: number;
  /** Encoded frames a keyframe replaced in the pacer's queue. */
  superseded: number;
  keyframes: number;
  plis: number;
  nacks: number;
  rungChanges: number;
  reopens: number;
  /** Packets re-sent for NACKs. */
  retransmitted: number;
  /** FEC packets sent. */
  fecPackets: number;
}

/** The latency samples of the frames the page showed between two polls (fromS, toS]. */
interface SampleBatch {
  fromS: number;
  toS: number;
  samples: LatencySamples;
}

interface Poll {
  s: number;
  edge: EdgeFrames;
  queueMs: number;
  /** The queue the edge reads in the path from transport-cc, ms. */
  pathQueueMs: number;
  bytesSent: number;
  /** What the pacer sent (media, FEC, re-sends, with packet overhead). */
  wireBytes: number;
  bitrateKbps: number;
  estimateKbps: number | undefined;
  qualityReason: string | undefined;
  estimateReason: string | undefined;
  inbound: InboundVideo;
}

async function main(): Promise<void> {
  const unsupported = netLabUnsupportedReason();
  if (unsupported) throw new Error(`bench:network needs netlab: ${unsupported}`);
  const seconds = Number(arg('seconds') ?? 30);
  const warmup = Number(arg('warmup') ?? 5);
  const names = (arg('scenarios') ?? 'drop,loss,jitter').split(',');
  const congestionModes = (arg('congestion') ?? 'off,on').split(',');
  const fecModes = (arg('fec') ?? 'on').split(',');
  for (const mode of [...congestionModes, ...fecModes])
    if (mode !== 'on' && mode !== 'off') throw new Error(`unknown mode ${mode}`);
  // FEC runs under congestion control only.
  const modes = congestionModes.flatMap((mode) =>
    mode === 'on' ? fecModes.map((fec) => (fec === 'on' ? 'on+fec' : 'on')) : [mode],
  );
  const scenarios = names.map((name) => {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    return scenario;
  });
  const { dir } = await ensurePlayerBuilt({ testHook: true });
  const lab = await createNetLab({ hosts: [{ name: 'root' }, { name: 'edge' }] });
  const browser = await launchChromium({ viewport: { width: 1320, height: 880 } });
  await askForStamps(browser.context); // glass-to-glass per phase reads the frame stamps
  const results: Record<string, Record<string, Record<string, unknown>>> = {};
  try {
    for (const mode of modes) {
      const edge = await NetLabEdge.start(lab.host('edge'), {
        staticDir: dir,
        congestionControl: mode !== 'off',
        fec: mode === 'on+fec',
      });
      try {
        for (const scenario of scenarios) {
          log(
            `bench:network ${scenario.name} (congestion control ${mode}): ${seconds}s (+${warmup}s warm-up)`,
          );
          const result = await runScenario(lab, edge, browser, scenario, seconds, warmup);
          results[scenario.name] = { ...results[scenario.name], [mode]: result };
          log(JSON.stringify(result));
        }
      } finally {
        await edge.close();
      }
    }
  } finally {
    await browser.close();
    await lab.close();
  }
  console.log(JSON.stringify({ seconds, warmup, modes, scenarios: results }));
}

async function runScenario(
  lab: NetLab,
  edge: NetLabEdge,
  browser: LaunchedChromium,
  scenario: Scenario,
  seconds: number,
  warmup: number,
): Promise<Record<string, unknown>> {
  await lab.setLink('root', { delayMs: scenario.rootDelayMs });
  await lab.setLink('edge', {
    delayMs: scenario.edgeDelayMs,
    jitterMs: scenario.jitterMs,
    lossPct: scenario.lossPct,
    rateKbit: scenario.rateKbit(0),
  });
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => log(`page error: ${error.message}`));
  await page.addInitScript(CAPTURE_PEERS);
  await page.goto(`${edge.url}/#/play/stress`);
  await until(
    () => readHook(page, 'lastStamp'),
    (stamp) => stamp !== null,
    { timeoutMs: 60_000, what: 'the first stamped frame' },
  );
  await sleep(warmup * 1000);
  await takeSamples(page);
  const polls: Poll[] = [];
  const phases = [0, ...scenario.changes, seconds];
  // Samples are taken at every poll (not once per phase), so a phase can be split where the edge
  // reacted: a batch holds the frames shown since the poll before.
  const batches: SampleBatch[] = [];
  const started = performance.now();
  let lastRate = scenario.rateKbit(0);
  for (;;) {
    const s = (performance.now() - started) / 1000;
    const rate = scenario.rateKbit(s);
    if (rate !== lastRate) {
      await lab.setLink('edge', { rateKbit: rate });
      lastRate = rate;
    }
    const [stats, inbound, samples] = await Promise.all([
      edge.stats(),
      readInboundVideo(page),
      takeSamples(page),
    ]);
    batches.push({ fromS: polls.at(-1)?.s ?? 0, toS: s, samples });
    const session = stats.sessions[0];
    polls.push({
      s,
      edge: {
        sent: session?.framesSent ?? 0,
        droppedBusy: session?.framesDroppedBusy ?? 0,
        droppedLate: session?.framesDroppedLate ?? 0,
        droppedCongested: session?.framesDroppedCongested ?? 0,
        superseded: session?.framesSuperseded ?? 0,
        keyframes: session?.keyframes ?? 0,
        plis: (session?.plis ?? 0) + (session?.firs ?? 0),
        nacks: session?.nacks ?? 0,
        rungChanges: session?.congestion?.rungChanges ?? 0,
        reopens: session?.congestion?.reopens ?? 0,
        retransmitted: session?.congestion?.retransmitted ?? 0,
        fecPackets: session?.congestion?.fec?.packets ?? 0,
      },
      wireBytes: session?.congestion?.pacedBytes ?? 0,
      queueMs: session?.congestion?.queueMs ?? 0,
      pathQueueMs: session?.congestion?.pathQueueMs ?? 0,
      bytesSent: Number(session?.bytesSent ?? 0),
      bitrateKbps: Number(session?.bitrateKbps ?? 0),
      estimateKbps: session?.congestion?.estimateKbps,
      qualityReason: session?.congestion?.reason,
      estimateReason: session?.congestion?.estimateReason,
      inbound,
    });
    if (s >= seconds) break;
    await sleep(100 - ((performance.now() - started) % 100));
  }
  await page.close();
  await until(
    async () => (await edge.stats()).sessions.length,
    (count) => count === 0,
    { what: 'the session to end' },
  );
  return summarize(scenario, phases, polls, batches);
}

/** Edge counters between two polls (b − a). */
function edgeDelta(a: Poll | undefined, b: Poll | undefined): EdgeFrames | undefined {
  if (!a || !b) return undefined;
  const delta = { ...b.edge };
  for (const key of Object.keys(delta) as Array<keyof EdgeFrames>) delta[key] -= a.edge[key];
  return delta;
}

/** Send rate (kbit/s) over the `windowS` before poll `i`. */
function sendKbps(polls: Poll[], i: number, windowS: number): number | undefined {
  const now = polls[i];
  if (!now) return undefined;
  let j = i;
  while (j > 0 && now.s - (polls[j - 1]?.s ?? 0) <= windowS) j--;
  const then = polls[j];
  if (!then || now.s - then.s < windowS * 0.6) return undefined;
  return ((now.bytesSent - then.bytesSent) * 8) / (now.s - then.s) / 1000;
}

/** Glass-to-glass and capture → receive of the frames shown in the batches that start in [fromS, toS). */
function latencyBetween(
  batches: SampleBatch[],
  fromS: number,
  toS: number,
): { glassToGlassMs: number[]; captureToReceiveMs: number[] } {
  const inside = batches.filter((batch) => batch.fromS >= fromS && batch.fromS < toS);
  return {
    glassToGlassMs: inside.flatMap((batch) => batch.samples.glassToGlassMs),
    captureToReceiveMs: inside.flatMap((batch) => batch.samples.captureToReceiveMs),
  };
}

type Percentiles = ReturnType<typeof percentiles>;

/** Percentiles of the frames shown from `fromS` (a poll's time) to the phase's end; null if never reached. */
function latencyFrom(
  batches: SampleBatch[],
  fromS: number | undefined,
  toS: number,
): {
  glassToGlassMs: Percentiles & { fromS: number };
  captureToReceiveMs: Percentiles & { fromS: number };
} | null {
  if (fromS === undefined) return null;
  // fromS is a poll's own time, which is also the next batch's start.
  const { glassToGlassMs, captureToReceiveMs } = latencyBetween(batches, fromS - 1e-6, toS);
  return {
    glassToGlassMs: { fromS: round(fromS), ...percentiles(glassToGlassMs) },
    captureToReceiveMs: { fromS: round(fromS), ...percentiles(captureToReceiveMs) },
  };
}

function summarize(
  scenario: Scenario,
  phases: number[],
  polls: Poll[],
  batches: SampleBatch[],
): Record<string, unknown> {
  const first = polls[0];
  const last = polls.at(-1);
  const perPhase = phases.slice(0, -1).map((start, index) => {
    const end = phases[index + 1] ?? start;
    const inside = polls.filter((p) => p.s >= start && p.s <= end);
    const a = inside[0];
    const b = inside.at(-1);
    const span = a && b ? b.s - a.s : 0;
    // The first batch starts at 0 and the last one before `seconds`, so every batch has a phase.
    const phaseSamples = latencyBetween(batches, index === 0 ? -Infinity : start, end);
    return {
      fromS: start,
      toS: end,
      linkKbit: scenario.rateKbit(start),
      deliveredFps:
        a && b && span > 0 ? round((b.inbound.framesDecoded - a.inbound.framesDecoded) / span) : 0,
      sendMbps: a && b && span > 0 ? round(((b.bytesSent - a.bytesSent) * 8) / span / 1e6) : 0,
      wireMbps: a && b && span > 0 ? round(((b.wireBytes - a.wireBytes) * 8) / span / 1e6) : 0,
      receiveMbps:
        a && b && span > 0
          ? round(((b.inbound.bytesReceived - a.inbound.bytesReceived) * 8) / span / 1e6)
          : 0,
      freezes: a && b ? b.inbound.freezeCount - a.inbound.freezeCount : 0,
      freezeMs: a && b ? Math.round(b.inbound.freezeMs - a.inbound.freezeMs) : 0,
      packetsLost: a && b ? b.inbound.packetsLost - a.inbound.packetsLost : 0,
      fecReceived: a && b ? b.inbound.fecReceived - a.inbound.fecReceived : 0,
      fecDiscarded: a && b ? b.inbound.fecDiscarded - a.inbound.fecDiscarded : 0,
      glassToGlassMs: percentiles(phaseSamples.glassToGlassMs),
      captureToReceiveMs: percentiles(phaseSamples.captureToReceiveMs),
      size: b ? `${b.inbound.width}x${b.inbound.height}` : '',
      edgeFrames: edgeDelta(a, b),
      maxQueueMs: Math.max(0, ...inside.map((p) => p.queueMs)),
    };
  });
  let reactMs: number | undefined;
  let reactedS: number | undefined;
  let rampMs: number | undefined;
  let rampedS: number | undefined;
  let estimateRampMs: number | undefined;
  const drop = scenario.changes[0];
  const back = scenario.changes[1];
  if (drop !== undefined) {
    const link = scenario.rateKbit(drop);
    for (let i = 0; i < polls.length; i++) {
      const poll = polls[i];
      if (!poll || poll.s < drop) continue;
      const rate = sendKbps(polls, i, 0.3);
      if (rate !== undefined && rate < link && poll.s - 0.3 >= drop - 0.05) {
        reactMs = Math.round((poll.s - drop) * 1000);
        reactedS = poll.s;
        break;
      }
    }
  }
  if (back !== undefined) {
    const link = scenario.rateKbit(back);
    for (let i = 0; i < polls.length; i++) {
      const poll = polls[i];
      if (!poll || poll.s < back) continue;
      if (estimateRampMs === undefined && (poll.estimateKbps ?? 0) >= 0.8 * link)
        estimateRampMs = Math.round((poll.s - back) * 1000);
      const rate = sendKbps(polls, i, 0.5);
      const target = poll.bitrateKbps;
      if (
        rampMs === undefined &&
        rate !== undefined &&
        (rate >= 0.8 * link || (target > 0 && rate >= 0.8 * target && target >= link * 0.8))
      ) {
        rampMs = Math.round((poll.s - back) * 1000);
        rampedS = poll.s;
      }
      if (rampMs !== undefined && estimateRampMs !== undefined) break;
    }
  }
  // The drop phase and the recovery phase once the edge has reacted (resp. ramped): issue 11's
  // "capture → receive p95 ≤ 50 ms once reacted" excludes the frames queued before the reaction.
  const dropPhase = perPhase[1];
  const backPhase = perPhase[2];
  if (dropPhase && back !== undefined) {
    const reacted = latencyFrom(batches, reactedS, back);
    Object.assign(dropPhase, {
      glassToGlassOnceReactedMs: reacted?.glassToGlassMs ?? null,
      captureToReceiveOnceReactedMs: reacted?.captureToReceiveMs ?? null,
    });
  }
  if (backPhase) {
    const ramped = latencyFrom(batches, rampedS, backPhase.toS);
    Object.assign(backPhase, {
      glassToGlassOnceRampedMs: ramped?.glassToGlassMs ?? null,
      captureToReceiveOnceRampedMs: ramped?.captureToReceiveMs ?? null,
    });
  }
  const reasons = [...new Set(polls.map((p) => p.qualityReason).filter((r) => r !== undefined))];
  const pollsFile = process.env.BENCH_NETWORK_POLLS;
  if (pollsFile) {
    writeFileSync(`${pollsFile}.${scenario.name}.json`, JSON.stringify(polls));
    writeFileSync(`${pollsFile}.${scenario.name}.batches.json`, JSON.stringify(batches));
  }
  return {
    rttMs: 2 * (scenario.rootDelayMs + scenario.edgeDelayMs),
    jitterMs: scenario.jitterMs,
    lossPct: scenario.lossPct,
    reactMs: drop === undefined ? undefined : (reactMs ?? null),
    rampMs: back === undefined ? undefined : (rampMs ?? null),
    estimateRampMs: back === undefined ? undefined : (estimateRampMs ?? null),
    freezeCount: first && last ? last.inbound.freezeCount - first.inbound.freezeCount : 0,
    freezeMs: first && last ? Math.round(last.inbound.freezeMs - first.inbound.freezeMs) : 0,
    packetsLost: first && last ? last.inbound.packetsLost - first.inbound.packetsLost : 0,
    nacks: first && last ? last.inbound.nackCount - first.inbound.nackCount : 0,
    deliveredFps:
      first && last && last.s > first.s
        ? round((last.inbound.framesDecoded - first.inbound.framesDecoded) / (last.s - first.s))
        : 0,
    glassToGlassMs: percentiles(batches.flatMap((batch) => batch.samples.glassToGlassMs)),
    captureToReceiveMs: percentiles(batches.flatMap((batch) => batch.samples.captureToReceiveMs)),
    edgeFrames: edgeDelta(first, last),
    phases: perPhase,
    estimateKbps: polls.filter((_, i) => i % 10 === 0).map((p) => p.estimateKbps ?? p.bitrateKbps),
    reasons: reasons.slice(0, 12),
  };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
