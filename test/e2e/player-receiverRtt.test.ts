import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { CAPTURE_PEERS } from '../support/inboundVideo.js';
import { startPlayerEdge } from '../support/playerEdge.js';
import { until } from '../support/playerPage.js';

// The player page in Debian Chromium against a standalone edge: the edge offers RTCP XR rcvr-rtt, Chromium
// answers it, sends Receiver Reference Time reports and, from the edge's DLRR answers, has a round-trip
// time for the video it receives (its `remote-outbound-rtp` stats) — the RTT its NACK retries wait for
// (without one it assumes 100 ms).

/** The page's answer and its video's remote-outbound-rtp round-trip measurements. */
async function receiverRtt(page: Page): Promise<{ sdp: string; measurements: number; rttS: number }> {
  return page.evaluate(async () => {
    interface Peer {
      localDescription: { sdp: string } | null;
      getStats(): Promise<
        Map<
          string,
          {
            type: string;
            kind?: string;
            roundTripTime?: number;
            roundTripTimeMeasurements?: number;
          }
        >
      >;
    }
    const peer = (globalThis as unknown as { __testPeers: Peer[] }).__testPeers.at(-1);
    let measurements = 0;
    let rttS = 0;
    for (const report of (await peer?.getStats())?.values() ?? []) {
      if (report.type === 'remote-outbound-rtp' && report.kind === 'video') {
        measurements = report.roundTripTimeMeasurements ?? 0;
        rttS = report.roundTripTime ?? 0;
      }
    }
    return { sdp: peer?.localDescription?.sdp ?? '', measurements, rttS };
  });
}

describe('receiver RTT between the edge and the player page (Chromium)', () => {
  let server: EdgeServer;
  let url: string;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    ({ server, url } = await startPlayerEdge({ capacity: 1 }));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('Chromium answers rcvr-rtt and measures the round trip of the video it receives', async () => {
    const page = await browser.context.newPage();
    try {
      await page.addInitScript(CAPTURE_PEERS);
      await page.goto(`${url}/#/play/stress`);
      const measured = await until(
        () => receiverRtt(page),
        (now) => now.measurements > 0,
        { timeoutMs: 60_000, what: 'a round-trip measurement in the remote-outbound-rtp stats' },
      );
      const video = measured.sdp.split(/(?=^m=)/m).find((section) => section.startsWith('m=video')) ?? '';
      expect(video).toContain('a=rtcp-xr:rcvr-rtt=all');
      // Loopback: well under Chromium's 100 ms default.
      expect(measured.rttS).toBeGreaterThanOrEqual(0);
      expect(measured.rttS).toBeLessThan(0.1);
    } finally {
      await page.close();
    }
  });
});
