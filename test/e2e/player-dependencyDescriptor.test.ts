import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { DEPENDENCY_DESCRIPTOR_URI } from '../../edge/session/rtpHeaderExtensions.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { CAPTURE_PEERS, readInboundVideo } from '../support/inboundVideo.js';
import { startPlayerEdge } from '../support/playerEdge.js';
import { until } from '../support/playerPage.js';

// The player page in Debian Chromium against a standalone edge with FEC on: Chromium's answer accepts the
// edge's Dependency Descriptor, the edge stamps every video packet with one, arms FEC and the stream
// decodes. An answer without the descriptor (an older browser: here the line is taken out of Chromium's
// answer) gets neither descriptor nor FEC, and still plays.

/** The answer the page made (the newest captured peer's local description). */
async function answerSdp(page: Page): Promise<string> {
  return page.evaluate(() => {
    const peers = (
      globalThis as unknown as { __testPeers: Array<{ localDescription: { sdp: string } | null }> }
    ).__testPeers;
    return peers.at(-1)?.localDescription?.sdp ?? '';
  });
}

describe('Dependency Descriptor between the edge and the player page (Chromium)', () => {
  let server: EdgeServer;
  let edge: Edge;
  let url: string;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    ({ server, url } = await startPlayerEdge({ fec: true }));
    edge = server.edge;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function play(
    withoutDd: boolean,
  ): Promise<{ sdp: string; decoded: number; stamped: boolean; fecArmed: boolean }> {
    const page = await browser.context.newPage();
    try {
      await page.addInitScript(CAPTURE_PEERS);
      if (withoutDd) {
        // A browser that does not know the extension: its answer has no line for it.
        await page.addInitScript(`(() => {
          const create = RTCPeerConnection.prototype.createAnswer;
          RTCPeerConnection.prototype.createAnswer = async function (...args) {
            const answer = await create.apply(this, args);
            const sdp = answer.sdp.split('\\r\\n').filter((l) => !l.includes('${DEPENDENCY_DESCRIPTOR_URI}')).join('\\r\\n');
            return { type: answer.type, sdp };
          };
        })()`);
      }
      await page.goto(`${url}/#/play/stress`);
      const first = await until(
        () => readInboundVideo(page),
        (now) => now.framesDecoded > 0,
        { timeoutMs: 60_000, what: 'the first frame decoded' },
      );
      const later = await until(
        () => readInboundVideo(page),
        (now) => now.framesDecoded >= first.framesDecoded + 120,
        { timeoutMs: 60_000, what: '120 more frames decoded' },
      );
      const session = edge.stats().sessions[0];
      return {
        sdp: await answerSdp(page),
        decoded: later.framesDecoded - first.framesDecoded,
        stamped: session?.dependencyDescriptor ?? false,
        fecArmed: session?.congestion?.fec !== undefined,
      };
    } finally {
      await page.close();
      await until(
        () => edge.info().activeSessions,
        (active) => active === 0,
        { what: 'the edge to free the slot' },
      );
    }
  }

  it("Chromium's answer accepts the descriptor on the video, the edge stamps it, arms FEC and frames decode", async () => {
    const { sdp, decoded, stamped, fecArmed } = await play(false);
    const video = sdp.split(/\r\nm=/).find((section) => section.startsWith('video')) ?? '';
    expect(video).toContain(` ${DEPENDENCY_DESCRIPTOR_URI}`);
    expect(stamped).toBe(true);
    expect(fecArmed).toBe(true);
    expect(decoded).toBeGreaterThanOrEqual(120);
  }, 120_000);

  it('an answer without the descriptor gets neither it nor FEC, and the stream still plays', async () => {
    const { sdp, decoded, stamped, fecArmed } = await play(true);
    expect(sdp).not.toContain(DEPENDENCY_DESCRIPTOR_URI);
    expect(sdp).toContain('ulpfec');
    expect(stamped).toBe(false);
    expect(fecArmed).toBe(false);
    expect(decoded).toBeGreaterThanOrEqual(120);
  }, 120_000);
});
