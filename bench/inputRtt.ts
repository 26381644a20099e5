// `npm run bench:input-rtt [-- --seconds 20 --rounds 3 --ping-ms 100 --modes echo,edge-video,...]` (default: echo,
// echo+video-tab, edge, edge-video, stats-paired, player)
// Where the data-channel input RTT goes in Chromium: the same ping → pong measured back to back, in
// interleaved rounds, one fresh page per mode and round, one headless Chromium (test/support/chromium.ts):
//   echo        a minimal page and a bare werift peer in this process that echoes pings; no media
//   edge        the minimal page on a real edge session (720p60 latency-probe scene): video and audio
//               received and decoded, shown nowhere
//   edge-video  the same with the video playing in a <video>
//   edge-video-nocc  edge-video from an edge with congestionControl off (no transport-cc, no pacer)
//   echo+video-tab   echo while another tab plays an edge session (video load, but not on the pings' transport)
//   stats-with-ping, stats-apart: edge-video with a getStats() right after each ping, or half a period later
//   player      the real player page (stamps on, as bench:stream): video, rVFC stamp reads, stats
//   edge-video+mouse60  edge-video while the page also sends a mouseMove every 16.7 ms (input flowing, as in
//               play: the hops are warmer than at idle; a separate figure, never the idle one)
//   The floor, no edge and no werift (bench/udpEcho.ts, inputRttProbePage.ts echoAnswerSource):
//   pair        a second RTCPeerConnection in the same page echoes: Chromium's send and receive hops twice
//   tab-pair    the echoing RTCPeerConnection in another tab (its own renderer main thread)
//   udp         13-byte datagrams to a plain dgram echo in another Node process: loopback and two idle event
//               loops woken per ping, nothing else
//   tab-pair+video-tab, udp+video-tab: the same while another tab plays an edge session (as busy as in play)
// Pings every --ping-ms in the minimal page; the player pings every 500 ms on its own. Per mode: rtt
// {count,p50,p95,p99,max} over all rounds, the rounds' p50s, and pageToEdge p50 (the edge's pong send
// time against the page's ping time, one system clock: bench/pongLegs.ts); edgeToPage = rtt − pageToEdge.
// The same split at the edge's UDP socket: pageToEdgeUdp (ping t → the ping's datagram in), edgeReceive
// (datagram in → the pong built: send(pong), or the direct path's start), edgeSend (→ the pong's datagram to the
// socket), udpToPage (rtt − ping t → datagram out: UDP back and Chromium's receive hops). Floor modes: rtt only.
// 2026-11-30, exclusive lock, host loaded (edge/README.md, "Input RTT"): `-- --seconds 15 --rounds 3 --modes
// echo,edge-video,player`, player p50 1.5-1.6 ms before the direct pong path and 1.4-1.6 after it (edge's share
// 0.28 → 0.18 ms); floor `--modes pair,tab-pair,udp` on an idle host 2.3 / 2.7 / 1.43 ms, and with a video tab
// (`tab-pair+video-tab,udp+video-tab`) 1.6 / 0.49 ms.
import { availableParallelism, loadavg } from 'node:os';
import { pino } from 'pino';
import type { BrowserContext, Page } from 'playwright-core';
import { RTCPeerConnection } from 'werift';
import { parseEdgeConfig } from '../edge/config.js';
import { createEdge } from '../edge/createEdge.js';
import type { Edge } from '../edge/Edge.js';
import { builtInGames } from '../edge/games/builtInGames.js';
import { latencyProbeGame } from '../edge/games/latencyProbe.js';
import { createInputChannel } from '../edge/session/InputChannel.js';
import { InputType } from '../protocol/input.js';
import { ensurePlayerBuilt } from '../scripts/buildPlayer.js';
import { launchChromium } from '../test/support/chromium.js';
import { askForStamps, readHook, runInPage, takeSamples, until } from '../test/support/playerPage.js';
import { arg, log, round, sleep } from './benchCommon.js';
import { echoAnswerSource, probePageSource } from './inputRttProbePage.js';
import { type PongLegs, recordPongLegs } from './pongLegs.js';
import { udpEchoRtts } from './udpEcho.js';

const MODES = [
  'echo',
  'edge',
  'edge-video',
  'stats-with-ping',
  'stats-apart',
  'stats-paired',
  'player',
  'echo+video-tab',
  'edge-video-nocc',
  'edge-video+mouse60',
  'pair',
  'tab-pair',
  'udp',
  'tab-pair+video-tab',
  'udp+video-tab',
] as const;
type Mode = (typeof MODES)[number];
/** Modes without the edge or werift: the floor (pair, tab-pair: Chromium to Chromium; udp: Node to Node). */
const floorModes: readonly Mode[] = ['pair', 'tab-pair', 'udp', 'tab-pair+video-tab', 'udp+video-tab'];
const DEFAULT_MODES: Mode[] = ['echo', 'echo+video-tab', 'edge', 'edge-video', 'stats-paired', 'player'];

function percentiles(values: number[]) {
  if (values.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted.at(-1) ?? 0) };
}

/** A bare werift peer answering the page's offer, echoing pings as pongs on the input channel. */
async function echoAnswer(offer: string, peers: RTCPeerConnection[]): Promise<string> {
  const peer = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  peers.push(peer);
  const input = createInputChannel(peer);
  const pong = Buffer.alloc(13);
  input.onMessage((data) => {
    if (typeof data === 'string' || data.length !== 13 || data[0] !== InputType.ping) return;
    if (input.answered?.(data)) return; // the channel's fast path (edge/session/pingFastPath.ts) did
    data.copy(pong);
    pong[0] = InputType.pong;
    input.send(pong);
  });
  await peer.setRemoteDescription({ type: 'offer', sdp: offer });
  await peer.setLocalDescription(await peer.createAnswer());
  return peer.localDescription?.sdp ?? '';
}

/** A tab playing an edge session in the minimal page (one ping at open, before any measurement window). */
async function openVideoTab(context: BrowserContext, edge: Edge, url: string): Promise<Page> {
  const tab = await context.newPage();
  await tab.goto(`${url}/health`);
  const session = edge.createSession('bench-probe', url);
  const signalUrl = `${session.edge.signalUrl}?token=${encodeURIComponent(session.token)}`;
  await runInPage(tab, probePageSource, {
    mode: 'edge',
    signalUrl,
    pingMs: 86_400_000,
    video: true,
    stats: 'none',
  });
  await until(
    () => runInPage<boolean>(tab, '() => window.__probe.open()'),
    (open) => open,
    { timeoutMs: 30_000, what: 'the video tab' },
  );
  return tab;
}

async function main(): Promise<void> {
  const seconds = Number(arg('seconds') ?? 20);
  const rounds = Number(arg('rounds') ?? 3);
  const pingMs = Number(arg('ping-ms') ?? 100);
  const modes = (arg('modes')?.split(',') ?? DEFAULT_MODES) as Mode[];
  for (const mode of modes) if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
  const { dir } = await ensurePlayerBuilt({ testHook: true });
  const base = latencyProbeGame('0', 60);
  const probe = { ...base, info: { ...base.info, id: 'bench-probe', width: 1280, height: 720, fps: 60 } };
  const startEdge = async (congestionControl: boolean) => {
    const server = await createEdge({
      config: parseEdgeConfig({
        port: 0,
        staticDir: dir,
        capacity: 1,
        videoBitrateKbps: 6000,
        logLevel: 'warn',
        allowPrivateCandidates: true, // the page is on loopback
        congestionControl,
      }),
      logger: pino({ level: 'warn' }),
      games: [...builtInGames(), probe],
    });
    return { server, url: await server.listen({ port: 0 }) };
  };
  const main = await startEdge(true);
  // edge-video-nocc: an edge without congestion control (no transport-cc feedback, no pacer).
  const nocc = modes.includes('edge-video-nocc') ? await startEdge(false) : undefined;
  const legs = recordPongLegs();
  const browser = await launchChromium({ viewport: { width: 1320, height: 880 } });
  const echoPeers: RTCPeerConnection[] = [];
  const rtt = new Map<Mode, number[]>(modes.map((mode) => [mode, []]));
  const legLists = new Map<Mode, PongLegs[]>(modes.map((mode) => [mode, []]));
  const roundP50s = new Map<Mode, number[]>(modes.map((mode) => [mode, []]));
  const loads: number[] = [];
  /** stats-paired: [RTT, seq]; even seq = a getStats() right after the ping. */
  const paired: Array<[number, number]> = [];
  const pairedAll: Array<[number, number]> = [];
  try {
    await askForStamps(browser.context);
    for (let r = 0; r < rounds; r++) {
      for (const mode of modes) {
        const { edge, url } =
          mode === 'edge-video-nocc' && nocc
            ? { edge: nocc.server.edge, url: nocc.url }
            : { edge: main.server.edge, url: main.url };
        // echo+video-tab: the echo page while another tab plays an edge session (same Chromium, same edge
        // process, but not the session the pings travel on).
        // *+video-tab: the same while another tab plays an edge session (the machine as busy as in play).
        const videoTab = mode.endsWith('+video-tab')
          ? await openVideoTab(browser.context, edge, url)
          : undefined;
        const floorBase = mode.replace('+video-tab', '');
        if (floorBase === 'udp') {
          const samples = await udpEchoRtts(pingMs, seconds * 1000);
          rtt.get(mode)?.push(...samples);
          roundP50s.get(mode)?.push(percentiles(samples).p50);
          loads.push(loadavg()[0] ?? 0);
          log(`round ${r + 1} ${mode}: rtt p50 ${percentiles(samples).p50} ms (${samples.length})`);
          if (videoTab) {
            await runInPage(videoTab, '() => window.__probe?.close()').catch(() => {});
            await videoTab.close();
            await until(
              () => edge.info().activeSessions,
              (active) => active === 0,
              { what: 'the session to end' },
            );
          }
          continue;
        }
        // tab-pair: the echo is another tab's RTCPeerConnection (echoAnswerSource), not the bench's werift.
        const echoTab = floorBase === 'tab-pair' ? await browser.context.newPage() : undefined;
        const page = await browser.context.newPage();
        page.on('pageerror', (error) => log(`page error (${mode}): ${error.message}`));
        try {
          if (mode === 'player') {
            await page.goto(`${url}/#/play/bench-probe`);
            await until(
              () => readHook(page, 'lastStamp'),
              (stamp) => stamp !== null,
              { timeoutMs: 90_000, what: 'the first stamped frame' },
            );
          } else {
            await page.goto(`${url}/health`);
            if (echoTab) {
              await echoTab.goto(`${url}/health`);
              await page.exposeFunction('__echoAnswer', (offer: string) =>
                runInPage<string>(echoTab, echoAnswerSource, offer),
              );
            } else if (mode.startsWith('echo'))
              await page.exposeFunction('__echoAnswer', (offer: string) => echoAnswer(offer, echoPeers));
            const signalUrl =
              floorModes.includes(mode) || mode.startsWith('echo')
                ? ''
                : (() => {
                    const session = edge.createSession('bench-probe', url);
                    return `${session.edge.signalUrl}?token=${encodeURIComponent(session.token)}`;
                  })();
            await runInPage(page, probePageSource, {
              mode: mode.startsWith('echo') || floorBase === 'tab-pair' ? 'echo' : mode,
              signalUrl,
              pingMs,
              video: mode !== 'edge',
              mouseHz: mode === 'edge-video+mouse60' ? 60 : 0,
              stats:
                mode === 'stats-with-ping'
                  ? 'with-ping'
                  : mode === 'stats-apart'
                    ? 'apart'
                    : mode === 'stats-paired'
                      ? 'paired'
                      : 'none',
            });
            await until(
              () => runInPage<boolean>(page, '() => window.__probe.open()'),
              (open) => open,
              { timeoutMs: 30_000, what: `${mode}: the input channel` },
            );
          }
          await sleep(3000); // warm-up: decoder and jitter buffer settle
          const take = async (): Promise<number[]> => {
            if (mode === 'player') return (await takeSamples(page)).inputRttMs;
            const pairs = await runInPage<Array<[number, number]>>(page, '() => window.__probe.take()');
            if (mode === 'stats-paired') paired.push(...pairs);
            return pairs.map(([ms]) => ms);
          };
          await take();
          paired.length = 0;
          const origin = await runInPage<number>(page, '() => performance.timeOrigin');
          legs.take(origin);
          await sleep(seconds * 1000);
          const samples = await take();
          const roundLegs = legs.take(origin);
          loads.push(loadavg()[0] ?? 0);
          rtt.get(mode)?.push(...samples);
          if (mode === 'stats-paired') {
            const withStats = paired.filter(([, seq]) => seq % 2 === 0).map(([ms]) => ms);
            const alone = paired.filter(([, seq]) => seq % 2 === 1).map(([ms]) => ms);
            log(
              `  paired: with getStats p50 ${percentiles(withStats).p50}, alone p50 ${percentiles(alone).p50}`,
            );
            pairedAll.push(...paired);
          }
          legLists.get(mode)?.push(roundLegs);
          const p50 = percentiles(samples).p50;
          roundP50s.get(mode)?.push(p50);
          log(
            `round ${r + 1} ${mode}: rtt p50 ${p50} ms (${samples.length}), page→edge p50 ${percentiles(roundLegs.pageToEdge).p50} (UDP in ${percentiles(roundLegs.pageToEdgeUdp).p50}, edge receive ${percentiles(roundLegs.edgeReceive).p50}, send ${percentiles(roundLegs.edgeSend).p50}), load ${loads.at(-1)?.toFixed(1)}`,
          );
        } finally {
          if (mode !== 'player') await runInPage(page, '() => window.__probe?.close()').catch(() => {});
          await page.close();
          if (echoTab) {
            await runInPage(echoTab, '() => window.__echoPeers?.forEach((peer) => peer.close())');
            await echoTab.close();
          }
          if (videoTab) {
            await runInPage(videoTab, '() => window.__probe?.close()').catch(() => {});
            await videoTab.close();
          }
          for (const peer of echoPeers.splice(0)) await peer.close();
          await until(
            () => edge.info().activeSessions,
            (active) => active === 0,
            { what: 'the session to end' },
          );
        }
      }
    }
    const result: Record<string, unknown> = { pingMs, seconds, rounds };
    for (const mode of modes) {
      const all = percentiles(rtt.get(mode) ?? []);
      if (floorModes.includes(mode)) {
        result[mode] = { rttMs: all, roundP50s: roundP50s.get(mode) };
        continue;
      }
      const lists = legLists.get(mode) ?? [];
      const p50 = (key: keyof PongLegs) => percentiles(lists.flatMap((list) => list[key])).p50;
      result[mode] = {
        rttMs: all,
        roundP50s: roundP50s.get(mode),
        pageToEdgeP50: p50('pageToEdge'),
        edgeToPageP50: round(all.p50 - p50('pageToEdge')),
        // The same split at the edge's UDP socket: Chromium + UDP each way, and the edge's own turnaround.
        pageToEdgeUdpP50: p50('pageToEdgeUdp'),
        edgeReceiveP50: p50('edgeReceive'),
        edgeSendP50: p50('edgeSend'),
        udpToPageP50: round(all.p50 - p50('pageToEdgeOut')),
      };
    }
    if (modes.includes('stats-paired')) {
      result.statsPaired = {
        withGetStats: percentiles(pairedAll.filter(([, seq]) => seq % 2 === 0).map(([ms]) => ms)),
        alone: percentiles(pairedAll.filter(([, seq]) => seq % 2 === 1).map(([ms]) => ms)),
      };
    }
    result.cores = availableParallelism();
    result.loadAverage1m = { min: round(Math.min(...loads)), max: round(Math.max(...loads)) };
    console.log(JSON.stringify(result));
  } finally {
    legs.stop();
    await browser.close();
    await main.server.close();
    await nocc?.server.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
