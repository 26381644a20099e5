import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { stampHeight } from '../../protocol/frameStamp.js';
import { playerDistDir, playerTestDistDir } from '../../scripts/buildPlayer.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { askForStamps, colorAt, lumaAt, readHook, runInPage, until } from '../support/playerPage.js';

// The player in Debian Chromium against a real standalone edge (x264, werift) serving the built bundle
// (test/setup/player.global.ts builds it). Everything a user sees: the catalog, a playing stream,
// input that changes the picture, the slot freed when the tab closes, and the end/drop messages.

const logger = pino({ level: 'silent' });

async function startEdge(
  port = 0,
  staticDir = playerTestDistDir,
): Promise<{ server: EdgeServer; edge: Edge; url: string }> {
  const server = await createEdge({
    config: parseEdgeConfig({
      port,
      staticDir,
      capacity: 2,
      logLevel: 'silent',
      allowPrivateCandidates: true,
    }),
    logger,
  });
  const url = await server.listen({ port });
  return { server, edge: server.edge, url };
}

describe('player in Chromium against a standalone edge', () => {
  let server: EdgeServer;
  let edge: Edge;
  let url: string;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    ({ server, edge, url } = await startEdge());
    browser = await launchChromium({ hasTouch: true });
    // The latency-probe tests read frame stamps (input seq, glass-to-glass): the page asks for them.
    await askForStamps(browser.context);
  });

  afterEach(async () => {
    // A failed test must not leave its page (and its session) behind for the next one.
    for (const page of browser?.context.pages() ?? []) await page.close();
    await until(
      () => edge.info().activeSessions,
      (active) => active === 0,
      { what: 'the edge to free every slot' },
    );
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists the games the edge runs', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector('.game-card');
    const ids = await runInPage<string[]>(
      page,
      "() => [...document.querySelectorAll('.game-card')].map((card) => card.dataset.gameId)",
    );
    expect(ids).toEqual(edge.games().map((game) => game.id));
    const titles = await page.locator('.game-card h2').allTextContents();
    expect(titles).toContain('Breakout');
    await page.close();
  });

  it('plays a game on click: decoded frames keep increasing; closing the tab frees the slot', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${url}/`);
    await page.click('.game-card[data-game-id="breakout"]');
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'playing' || state === 'dropped' || state === 'error',
    );
    expect(await readHook(page, 'state')).toBe('playing');
    expect(await readHook(page, 'encoder')).toBe(edge.info().encoder);
    const first = await until(
      () => readHook(page, 'framesDecoded'),
      (frames) => frames > 10,
    );
    const later = await until(
      () => readHook(page, 'framesDecoded'),
      (frames) => frames > first + 30,
    );
    expect(later).toBeGreaterThan(first + 30);
    const size = await runInPage(
      page,
      "() => { const v = document.querySelector('video'); return { width: v.videoWidth, height: v.videoHeight, paused: v.paused }; }",
    );
    expect(size).toEqual({ width: 1280, height: 720, paused: false });
    // The stats overlay shows the stream to the user.
    expect(await page.textContent('.stats')).toMatch(/H264 1280×720/);
    expect(edge.info().activeSessions).toBe(1);

    await page.close();
    await until(
      () => edge.info().activeSessions,
      (active) => active === 0,
    );
    expect(edge.info().activeSessions).toBe(0);
  });

  it('key presses change the game: the probe scene flips its square and stamps the input', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${url}/#/play/latency-probe`);
    await until(
      () => readHook(page, 'lastStamp'),
      (stamp) => stamp !== null,
    );
    // The probe's flip square: x from 0.8 w, y from stamp strip + 8 + 0.05 h, 0.12 h on a side.
    const x = Math.round(1280 * 0.8 + 720 * 0.06);
    const y = Math.round(stampHeight(1280) + 8 + 720 * 0.05 + 720 * 0.06);
    const before = await lumaAt(page, x, y);
    expect(before).toBeGreaterThanOrEqual(0);
    expect(before).toBeLessThan(100);

    await page.keyboard.press('Space');
    const lit = await until(
      () => lumaAt(page, x, y),
      (luma) => luma > 200,
    );
    expect(lit).toBeGreaterThan(200);
    // The stamp of a presented frame carries the applied input (the hook updates once per presented frame).
    const stamp = await until(
      () => readHook(page, 'lastStamp'),
      (value) => (value?.inputSeq ?? 0) > 0,
      { what: 'a frame stamp showing the key press' },
    );
    expect(stamp?.inputSeq).toBeGreaterThan(0);

    await page.keyboard.press('Space');
    const dark = await until(
      () => lumaAt(page, x, y),
      (luma) => luma >= 0 && luma < 100,
    );
    expect(dark).toBeLessThan(100);
    const stampAfter = await until(
      () => readHook(page, 'lastStamp'),
      (value) => (value?.inputSeq ?? 0) > (stamp?.inputSeq ?? 0),
      { what: 'a frame stamp showing the second key press' },
    );
    expect(stampAfter?.inputSeq).toBeGreaterThan(stamp?.inputSeq ?? 0);
    await page.close();
    await until(
      () => edge.info().activeSessions,
      (active) => active === 0,
    );
  });

  it('a held key stays held on the edge while the page refreshes it; a lost keyUp is released by the edge', async () => {
    const page = await browser.context.newPage();
    // Lose every keyUp (input type 2) the page sends, as an unreliable channel may.
    await page.addInitScript(`(() => {
      const send = RTCDataChannel.prototype.send;
      RTCDataChannel.prototype.send = function (data) {
        if (window.__loseKeyUps && data instanceof ArrayBuffer && new Uint8Array(data)[0] === 2) return;
        if (window.__loseKeyUps && ArrayBuffer.isView(data) && data[0] === 2) return;
        return send.call(this, data);
      };
    })()`);
    await page.goto(`${url}/#/play/breakout`);
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'playing',
    );
    const session = () => edge.stats().sessions.find((s) => s.gameId === 'breakout');
    await page.keyboard.down('ArrowLeft');
    // Held for longer than the edge's release time: refreshed, never released by the edge.
    await until(
      () => session()?.keyRefreshes ?? 0,
      (refreshes) => refreshes >= 6,
      { what: 'the page to refresh the held key' },
    );
    expect(session()?.staleKeysReleased).toBe(0);
    await page.keyboard.up('ArrowLeft');
    await runInPage(page, '() => { window.__loseKeyUps = true; }');
    await page.keyboard.down('ArrowRight');
    await page.keyboard.up('ArrowRight');
    const released = await until(
      () => session()?.staleKeysReleased ?? 0,
      (count) => count === 1,
      { what: 'the edge to release the key whose keyUp was lost' },
    );
    expect(released).toBe(1);
    await page.close();
  });

  it('mouse, touch and gamepad steer the probe scene marker', async () => {
    const page = await browser.context.newPage();
    // A scripted gamepad: the browser's Gamepad API cannot see hardware here, so the page's
    // navigator.getGamepads returns this pad (the player polls it every animation frame).
    await page.addInitScript(`(() => {
      const idle = Array.from({ length: 17 }, () => ({ pressed: false, touched: false, value: 0 }));
      window.__testPad = { index: 0, id: 'test pad', connected: true, mapping: 'standard', buttons: idle, axes: [0, 0, 0, 0] };
      navigator.getGamepads = () => [window.__testPad, null, null, null];
    })()`);
    await page.goto(`${url}/#/play/latency-probe`);
    await until(
      () => readHook(page, 'lastStamp'),
      (stamp) => stamp !== null,
    );
    const isMarker = (color: [number, number, number] | null) =>
      color !== null && color[0] > 170 && color[1] < 140 && color[2] < 140;
    /** Client coordinates of a point of the displayed picture (the <video> letterboxes it). */
    const clientPoint = (fx: number, fy: number) =>
      runInPage<{ x: number; y: number }>(
        page,
        `({ fx, fy }) => {
          const video = document.querySelector('video');
          const r = video.getBoundingClientRect();
          const scale = Math.min(r.width / video.videoWidth, r.height / video.videoHeight);
          const w = video.videoWidth * scale, h = video.videoHeight * scale;
          return { x: r.left + (r.width - w) / 2 + fx * w, y: r.top + (r.height - h) / 2 + fy * h };
        }`,
        { fx, fy },
      );
    expect(isMarker(await colorAt(page, 640, 360))).toBe(true);

    // Mouse: the marker follows the pointer.
    const mouse = await clientPoint(0.25, 0.75);
    await page.mouse.move(mouse.x, mouse.y);
    await until(() => colorAt(page, 320, 540), isMarker);
    expect(isMarker(await colorAt(page, 640, 360))).toBe(false);

    // Touch: a tap puts the marker under the finger.
    const touch = await clientPoint(0.75, 0.4);
    await page.touchscreen.tap(touch.x, touch.y);
    await until(() => colorAt(page, 960, 288), isMarker);

    // Gamepad: left stick full left and 60 % down → marker at x 0, y 0.8.
    await runInPage(page, '() => { window.__testPad.axes = [-1, 0.6, 0, 0]; }');
    await until(() => colorAt(page, 8, 576), isMarker);
    expect(isMarker(await colorAt(page, 960, 288))).toBe(false);
    await page.close();
    await until(
      () => edge.info().activeSessions,
      (active) => active === 0,
    );
  });

  it('shows the end of a session the edge ends, and plays again on request', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${url}/#/play/breakout`);
    const sessionId = await until(
      () =>
        runInPage<string | null>(
          page,
          "() => (window.__farplay.state === 'playing' ? window.__farplay.sessionId : null)",
        ),
      (id) => id !== null,
    );
    expect(edge.endSession(sessionId as string, 'operator maintenance')).toBe(true);
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'ended',
    );
    expect(await page.textContent('.overlay')).toMatch(/operator maintenance/);
    await page.click('.overlay button[data-action="play again"]');
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'playing',
    );
    expect(await readHook(page, 'sessionId')).not.toBe(sessionId);
    // Back to the catalog ends the session.
    await page.click('button[data-action="back"]');
    await page.waitForSelector('.game-card');
    await until(
      () => edge.info().activeSessions,
      (active) => active === 0,
    );
    await page.close();
  });
});

describe('player when its edge goes away', () => {
  it('tells the user the stream was lost and reconnects by itself when the edge is back', async () => {
    let { server, edge, url } = await startEdge();
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}/#/play/breakout`);
      await until(
        () => readHook(page, 'state'),
        (state) => state === 'playing',
      );
      const port = Number(new URL(url).port);
      await server.close();
      await until(
        () => readHook(page, 'state'),
        (state) => state === 'dropped',
      );
      expect(await page.isVisible('.overlay button[data-action="reconnect"]')).toBe(true);
      expect(await page.textContent('.overlay')).toMatch(/Stream lost/);
      // The same address comes back (an edge restart); the player's retries find it.
      ({ server, edge, url } = await startEdge(port));
      await until(
        () => readHook(page, 'state'),
        (state) => state === 'playing',
      );
      expect(await readHook(page, 'reconnects')).toBeGreaterThanOrEqual(1);
      const frames = await readHook(page, 'framesDecoded');
      await until(
        () => readHook(page, 'framesDecoded'),
        (now) => now > frames + 10,
      );
      await page.close();
      await until(
        () => edge.info().activeSessions,
        (active) => active === 0,
      );
    } finally {
      await browser.close();
      await server.close();
    }
  });
});

describe('the production player bundle', () => {
  it('has no test hook: window.__farplay exists only in the test build', async () => {
    const scripts = (dir: string) =>
      readdirSync(join(dir, 'assets'))
        .filter((name) => name.endsWith('.js'))
        .map((name) => readFileSync(join(dir, 'assets', name), 'utf8'))
        .join('\n');
    expect(scripts(playerDistDir)).not.toContain('__farplay');
    expect(scripts(playerTestDistDir)).toContain('__farplay');

    const { server, url } = await startEdge(0, playerDistDir);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${url}/`);
      await page.waitForSelector('.game-card');
      expect(await runInPage(page, '() => typeof window.__farplay')).toBe('undefined');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
