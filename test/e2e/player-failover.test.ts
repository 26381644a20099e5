import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { type RunningMatchmaker, startMatchmaker } from '../../matchmaker/startMatchmaker.js';
import { playerTestDistDir } from '../../scripts/buildPlayer.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { readHook, until } from '../support/playerPage.js';

// The player served by a real matchmaker with two real edges in matchmaker mode. When the edge a
// player streams from stops heartbeating, the matchmaker moves the session (`moved` on the session
// events socket) and the page switches to the other edge with the new token, without reloading.

const logger = pino({ level: 'silent' });

interface RunningEdge {
  server: EdgeServer;
  edge: Edge;
  control: EdgeControl;
}

describe('player with a matchmaker and two edges', () => {
  let matchmaker: RunningMatchmaker;
  const edges: RunningEdge[] = [];
  let browser: LaunchedChromium;

  beforeAll(async () => {
    matchmaker = await startMatchmaker(
      {
        port: 0,
        logLevel: 'silent',
        staticDir: playerTestDistDir,
        heartbeatMs: 250,
        edgeTtlMs: 1500,
        reapMs: 100,
        refreshMs: 50,
      },
      logger,
    );
    const encoderProbe = await probeEncoders({ candidates: ['libx264'] });
    for (const [region, lat, lon] of [
      ['eu-a', 52.5, 13.4],
      ['eu-b', 48.9, 2.35],
    ] as const) {
      const key = generatePrivateKey();
      const server = await createEdge({
        config: parseEdgeConfig({
          port: 0,
          region,
          lat,
          lon,
          gpu: 'none',
          capacity: 2,
          nodePrivateKey: key,
          matchmakerPublicKey: matchmaker.sessionPublicKey,
          logLevel: 'silent',
          allowPrivateCandidates: true, // Chromium on loopback
        }),
        logger,
        encoderProbe,
      });
      await server.listen({ port: 0 });
      const { edge } = server;
      const control = startEdgeControl({
        edge,
        account: privateKeyToAccount(key),
        matchmakerUrl: matchmaker.url,
        heartbeatMs: 250,
        logger,
      });
      await control.registered;
      edges.push({ server, edge, control });
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    for (const { server, control } of edges) {
      await control.close();
      await server.close();
    }
    await matchmaker?.close();
  });

  it("shows each built-in game in the matchmaker's catalogue as a frame a live edge rendered", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${matchmaker.url}/`);
    const picture = await until(
      () =>
        page.evaluate(`(() => {
          const img = document.querySelector('.game-card[data-game-id="breakout"] img');
          return img && img.complete ? { src: img.src, width: img.naturalWidth } : null;
        })()`) as Promise<{ src: string; width: number } | null>,
      (value) => value !== null && value.width > 0,
      { what: 'the Breakout tile picture to load' },
    );
    expect(picture?.width).toBe(640);
    const edgeUrls = edges.map(({ edge }) => `${edge.url}/v1/games/breakout/thumbnail`);
    expect(edgeUrls).toContain(picture?.src);
    await page.close();
  });

  it('moves the stream to the other edge without reloading when its edge is lost', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${matchmaker.url}/`);
    await page.click('.game-card[data-game-id="breakout"]');
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'playing',
    );
    const firstSession = await readHook(page, 'sessionId');
    const serving = await until(
      () => edges.find(({ edge }) => edge.info().activeSessions === 1),
      (found) => found !== undefined,
    );
    const other = edges.find((running) => running !== serving);
    if (!serving || !other) throw new Error('expected one serving edge and one idle edge');
    // A marker that survives only if the page is not reloaded.
    await page.evaluate('window.__notReloaded = true');

    // The serving edge stops heartbeating (it keeps streaming): the matchmaker declares it lost.
    await serving.control.close();
    await until(
      () => other.edge.info().activeSessions,
      (active) => active === 1,
    );
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'playing',
    );
    expect(await readHook(page, 'sessionId')).not.toBe(firstSession);
    expect(await readHook(page, 'reconnects')).toBe(1);
    expect(await page.evaluate('window.__notReloaded === true')).toBe(true);
    const frames = await readHook(page, 'framesDecoded');
    await until(
      () => readHook(page, 'framesDecoded'),
      (now) => now > frames + 10,
    );
    // The player left the lost edge: its slot is free.
    await until(
      () => serving.edge.info().activeSessions,
      (active) => active === 0,
    );
    await page.close();
    await until(
      () => other.edge.info().activeSessions,
      (active) => active === 0,
    );
  });
});
