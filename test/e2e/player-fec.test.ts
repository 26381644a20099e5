import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamSessionStats } from '../../edge/session/StreamSession.js';
import type { LaunchedChromium } from '../support/chromium.js';
import { CAPTURE_PEERS, closeCapturedPeer, readInboundVideo } from '../support/inboundVideo.js';
import { type NetLabPlayer, startNetLabPlayer } from '../support/netLabPlayer.js';
import { until } from '../support/playerPage.js';
import type { NetLabEdge } from '../tools/NetLabEdge.js';
import type { NetLab } from '../tools/netlab/createNetLab.js';
import { netLabUnsupportedReason } from '../tools/netlab/netLabUnsupportedReason.js';

// The edge with FEC on (ULPFEC in RED) in a netlab namespace, Chromium in the root one, 2 % random loss on the
// edge's leg: Chromium negotiates RED and ULPFEC, receives the FEC packets, rebuilds lost media packets from
// them (its own histograms say so) and keeps decoding.

const unsupported = netLabUnsupportedReason();
if (unsupported !== null) {
  // biome-ignore lint/suspicious/noConsole: tell whoever runs the suite why this test skips
  console.warn(`player-fec test skipped: ${unsupported}`);
}

describe.skipIf(unsupported !== null)('FEC on an emulated lossy link (netlab, Chromium)', () => {
  let net: NetLabPlayer;
  let lab: NetLab;
  let edge: NetLabEdge;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    net = await startNetLabPlayer({ edgeDelayMs: 10, edge: { fec: true } });
    ({ lab, edge, browser } = net);
  });

  afterAll(async () => {
    await net?.close();
  });

  async function session(): Promise<StreamSessionStats | undefined> {
    return (await edge.stats()).sessions[0];
  }

  /**
   * Chromium's own counters of a video stream's ULPFEC, recorded when the stream ends (it must have run ≥ 10 s):
   * `WebRTC.Video.ReceivedFecPacketsInPercent` (FEC ÷ all packets received) and
   * `WebRTC.Video.RecoveredMediaPacketsInPercentOfFec` (media packets rebuilt ÷ FEC received). Its inbound-rtp
   * stats have no FEC counters for ULPFEC (`fecPacketsReceived` is left out of the report).
   */
  async function fecHistograms(): Promise<{ receivedPct?: number; recoveredPct?: number; text: string }> {
    const page = await browser.context.newPage();
    try {
      let text = '';
      for (let i = 0; i < 10 && !text.includes('RecoveredMediaPacketsInPercentOfFec'); i++) {
        await page.goto('chrome://histograms/WebRTC.Video.');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        text = (await page.evaluate('document.body.innerText')) as string;
      }
      const mean = (name: string): number | undefined => {
        const match = new RegExp(
          `Histogram: WebRTC\\.Video\\.${name} recorded \\d+ samples, mean = ([\\d.]+)`,
        ).exec(text);
        return match ? Number(match[1]) : undefined;
      };
      const receivedPct = mean('ReceivedFecPacketsInPercent');
      const recoveredPct = mean('RecoveredMediaPacketsInPercentOfFec');
      return {
        ...(receivedPct !== undefined ? { receivedPct } : {}),
        ...(recoveredPct !== undefined ? { recoveredPct } : {}),
        text: text
          .split('\n')
          .filter((line) => line.startsWith('- Histogram'))
          .join('\n'),
      };
    } finally {
      await page.close();
    }
  }

  it('under 2 % loss Chromium receives ULPFEC in RED, rebuilds lost packets from it, and keeps decoding', async () => {
    await lab.setLink('edge', { lossPct: 2 });
    const page = await browser.context.newPage();
    try {
      await page.addInitScript(CAPTURE_PEERS);
      await page.goto(`${edge.url}/#/play/stress`);
      await until(
        () => readInboundVideo(page),
        (now) => now.framesDecoded > 0,
        { timeoutMs: 60_000, what: 'the first frame decoded' },
      );
      // The edge measures the loss from transport-cc feedback and starts protecting frames.
      await until(session, (s) => (s?.congestion?.fec?.packets ?? 0) > 200, {
        timeoutMs: 60_000,
        what: 'FEC packets sent',
      });
      const before = await readInboundVideo(page);
      const after = await until(
        () => readInboundVideo(page),
        (now) => now.framesDecoded >= before.framesDecoded + 600,
        { timeoutMs: 90_000, what: '600 more frames decoded through the loss' },
      );
      expect(after.framesDecoded).toBeGreaterThan(before.framesDecoded);
      const sent = (await session())?.congestion?.fec;
      expect(sent?.packets).toBeGreaterThan(0);
      // Ending the peer connection ends the receive stream, which records its FEC histograms.
      await closeCapturedPeer(page);
      const histograms = await until(fecHistograms, (h) => h.recoveredPct !== undefined, {
        timeoutMs: 20_000,
        what: "Chromium's FEC histograms",
      });
      // biome-ignore lint/suspicious/noConsole: what Chromium and the edge counted, for whoever reads the run
      console.log(JSON.stringify({ chromium: after, edge: sent }), `\n${histograms.text}`);
      expect(histograms.receivedPct).toBeGreaterThan(0);
      // Media packets lost on the link were rebuilt from FEC.
      expect(histograms.recoveredPct).toBeGreaterThan(0);
    } finally {
      await page.close();
      await lab.setLink('edge', { lossPct: 0 });
    }
  });
});
