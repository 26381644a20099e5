import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { stampHeight } from '../../protocol/frameStamp.js';
import { type AxeScan, axeScan, seriousViolations } from '../support/axeScan.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { startPlayerEdge } from '../support/playerEdge.js';
import { readHook, runInPage, takeSamples, until } from '../support/playerPage.js';

// The play page as a phone (390×844 and 844×390, touch) and a desktop (1280×800) show it, against a
// real standalone edge: every control on screen and clear of the on-screen pad, the picture as large
// as the screen allows with no frame-stamp strip (stamps only while the stats overlay asks), the stats overlay off until asked for (and
// remembered), hints that fit the device, catalogue tiles that show the game, and a glass-to-glass
// figure that is never negative. An axe-core scan of the catalogue and the play view in each finds no
// serious or critical accessibility violation. Screenshots of each state and the scans (axe-*.json,
// counts in axe.json) go to FARPLAY_ARTIFACTS (default <tmpdir>/farplay-e2e-screens).

const artifacts = process.env.FARPLAY_ARTIFACTS ?? join(tmpdir(), 'farplay-e2e-screens');
mkdirSync(artifacts, { recursive: true });

type Box = { x: number; y: number; width: number; height: number; name: string };

interface PlayGeometry {
  viewport: { width: number; height: number };
  controls: Box[];
  pad: Box[];
  screen: Box;
  video: Box;
  side: Box | null;
  screenClips: boolean;
  hint: string | null;
}

/** Boxes of everything the player can press, the pad's buttons, the picture and the side panel. */
function geometry(page: Page): Promise<PlayGeometry> {
  return runInPage(
    page,
    `() => {
      const box = (element, name) => {
        const r = element.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height, name };
      };
      const shown = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden';
      const label = (element) => element.getAttribute('aria-label') || element.dataset.action || element.textContent.trim();
      const controls = [...document.querySelectorAll('.play-bar button, .play-bar select, .side button')]
        .filter(shown).map((element) => box(element, label(element)));
      const side = document.querySelector('.side');
      const hint = document.querySelector('.play-bar .hint');
      return {
        viewport: { width: innerWidth, height: innerHeight },
        controls,
        pad: [...document.querySelectorAll('.touch-controls button')].filter(shown).map((element) => box(element, label(element))),
        screen: box(document.querySelector('.screen'), 'screen'),
        video: box(document.querySelector('.screen video'), 'video'),
        side: side && shown(side) ? box(side, 'side panel') : null,
        screenClips: getComputedStyle(document.querySelector('.screen')).overflow === 'hidden',
        hint: hint && shown(hint) ? hint.textContent : null,
      };
    }`,
  );
}

const inside = (box: Box, viewport: { width: number; height: number }) =>
  box.x >= -0.5 &&
  box.y >= -0.5 &&
  box.x + box.width <= viewport.width + 0.5 &&
  box.y + box.height <= viewport.height + 0.5;
const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width - 0.5 &&
  b.x < a.x + a.width - 0.5 &&
  a.y < b.y + b.height - 0.5 &&
  b.y < a.y + a.height - 0.5;

/** Every control and pad button inside the viewport; no control, nor the side panel, on the pad. */
function expectReachable(g: PlayGeometry): void {
  expect(g.controls.length).toBeGreaterThanOrEqual(4);
  for (const control of [...g.controls, ...g.pad]) {
    expect(
      inside(control, g.viewport),
      `${control.name} ${JSON.stringify(control)} inside the viewport`,
    ).toBe(true);
  }
  for (const button of g.pad) {
    for (const control of [...g.controls, ...(g.side ? [g.side] : [])]) {
      expect(overlap(control, button), `${control.name} clear of pad button ${button.name}`).toBe(false);
    }
  }
  // The side panel (stats, prompts) never covers the picture and its HUD.
  if (g.side) expect(overlap(g.side, g.screen), 'side panel clear of the picture').toBe(false);
}

/** Stamps on (the overlay asked): the frame clips exactly the stamp strip off the video's top. */
function expectStampCropped(g: PlayGeometry): void {
  const scale = g.video.width / 1280;
  expect(g.screenClips).toBe(true);
  expect(g.screen.y - g.video.y).toBeCloseTo(stampHeight(1280) * scale, 0);
  expect(g.video.x).toBeCloseTo(g.screen.x, 0);
  expect(g.video.width).toBeCloseTo(g.screen.width, 0);
}

/** Stamps off: the whole picture is shown, nothing cropped (there is no strip to hide). */
function expectWholePicture(g: PlayGeometry): void {
  expect(g.video.y).toBeCloseTo(g.screen.y, 0);
  expect(g.video.height).toBeCloseTo(g.screen.height, 0);
  expect(g.video.width).toBeCloseTo(g.screen.width, 0);
}

/** Waits until the page has presented `frames` more frames. */
async function presented(page: Page, frames: number): Promise<void> {
  const from = (await readHook(page, 'framesPresented')) ?? 0;
  await until(
    () => readHook(page, 'framesPresented'),
    (count) => (count ?? 0) >= from + frames,
    { what: `${frames} presented frames` },
  );
}

/** Two animation frames: the layout scheduled by the last change is applied. */
function settle(page: Page): Promise<unknown> {
  return page.evaluate(
    'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
  );
}

/** The picture's share of the viewport (%) in each case, written to the artifacts as layout.json. */
const figures: Record<string, number> = {};
const share = (g: PlayGeometry) =>
  Math.round((1000 * g.screen.width * g.screen.height) / (g.viewport.width * g.viewport.height)) / 10;

/** Violations by impact of every axe scan, written to the artifacts as axe.json. */
const scans: Record<string, AxeScan['counts']> = {};

/** Scans the page with axe-core (result saved as an artifact): no serious or critical violation. */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const scan = await axeScan(page, name, artifacts);
  scans[name] = scan.counts;
  expect(seriousViolations(scan), `axe on ${name}`).toEqual([]);
}

/** Opens the catalogue (scanned with axe as `<scan>-catalog` when named) and plays Breakout from it. */
async function playBreakout(page: Page, url: string, scan?: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForSelector('.game-card');
  if (scan !== undefined) await expectAccessible(page, `${scan}-catalog`);
  await page.click('.game-card[data-game-id="breakout"]');
  await until(
    () => readHook(page, 'state'),
    (state) => state === 'playing' || state === 'dropped' || state === 'error',
  );
  expect(await readHook(page, 'state')).toBe('playing');
  // Frames presented and the layout settled on the real picture size.
  await page.waitForFunction('document.querySelector(".screen video").videoWidth > 0');
  await presented(page, 10);
  await settle(page);
}

describe('the play page on phones and desktops', () => {
  let edge: EdgeServer;
  let url: string;

  beforeAll(async () => {
    ({ server: edge, url } = await startPlayerEdge());
  });

  afterAll(async () => {
    await edge?.close();
    writeFileSync(
      join(artifacts, 'layout.json'),
      `${JSON.stringify({ pictureShareOfViewportPct: figures })}\n`,
    );
    writeFileSync(join(artifacts, 'axe.json'), `${JSON.stringify({ violationsByImpact: scans }, null, 2)}\n`);
  });

  describe('a phone (390×844, touch)', () => {
    let browser: LaunchedChromium;
    beforeAll(async () => {
      browser = await launchChromium({
        viewport: { width: 390, height: 844 },
        hasTouch: true,
        isMobile: true,
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('shows the game in the catalogue as a real frame of it', async () => {
      const page = await browser.context.newPage();
      await page.goto(`${url}/`);
      await page.waitForSelector('.game-card[data-game-id="breakout"] img');
      const picture = await until(
        () =>
          runInPage<{ src: string; width: number } | null>(
            page,
            `() => { const img = document.querySelector('.game-card[data-game-id="breakout"] img');
              return img && img.complete ? { src: img.src, width: img.naturalWidth } : null; }`,
          ),
        (value) => value !== null && value.width > 0,
      );
      expect(picture?.src).toBe(`${url}/v1/games/breakout/thumbnail`);
      expect(picture?.width).toBe(640);
      await page.screenshot({ path: join(artifacts, 'phone-catalog.png') });
      await page.close();
    });

    it('portrait: pad from the input map under the picture, every control on screen, no mouse hint, stats off', async () => {
      const page = await browser.context.newPage();
      await playBreakout(page, url, 'phone-portrait');
      const g = await geometry(page);
      await page.screenshot({ path: join(artifacts, 'phone-portrait.png') });
      expectReachable(g);
      await expectAccessible(page, 'phone-portrait-play');
      expectWholePicture(g);
      // Breakout reads left/right and one button: the pad has exactly those.
      expect(g.pad.map((button) => button.name).sort()).toEqual(['Launch', 'Left', 'Right']);
      for (const button of g.pad)
        expect(overlap(button, g.screen), `${button.name} clear of the picture`).toBe(false);
      expect(g.screen.width).toBeCloseTo(390, 0); // the full width of the phone
      expect(g.hint).toBeNull();
      expect(await page.isVisible('.stats')).toBe(false);
      // Fullscreen and landscape were asked for; where the browser cannot lock the orientation, a prompt says to turn.
      const locked = await runInPage<boolean>(page, "() => screen.orientation.type.startsWith('landscape')");
      if (!locked) expect(await page.isVisible('.rotate-prompt')).toBe(true);

      // Stats on: placed clear of the pad and the picture, and remembered on the next visit.
      await page.click('button[data-action="stats"]');
      await page.waitForSelector('.stats', { state: 'visible' });
      await page.evaluate(
        'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
      );
      const withStats = await geometry(page);
      expectReachable(withStats);
      expect(withStats.side).not.toBeNull();
      await page.screenshot({ path: join(artifacts, 'phone-portrait-stats.png') });
      await page.reload();
      await until(
        () => readHook(page, 'state'),
        (state) => state === 'playing',
      );
      expect(await page.isVisible('.stats')).toBe(true);
      await page.click('button[data-action="stats"]');
      expect(await runInPage(page, "() => localStorage.getItem('farplay.statsOverlay')")).toBe('off');
      figures.phonePortrait = share(g);
      await page.close();
    });

    it('landscape: a rail of controls, the picture takes the height, the pad clear of every control', async () => {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 844, height: 390 });
      await playBreakout(page, url, 'phone-landscape');
      const g = await geometry(page);
      await page.screenshot({ path: join(artifacts, 'phone-landscape.png') });
      expectReachable(g);
      await expectAccessible(page, 'phone-landscape-play');
      expectWholePicture(g);
      expect(g.screen.height).toBeCloseTo(390, 0);
      expect(await page.isVisible('.rotate-prompt')).toBe(false);
      await page.click('button[data-action="stats"]');
      await page.evaluate(
        'new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))',
      );
      const withStats = await geometry(page);
      expectReachable(withStats);
      await page.screenshot({ path: join(artifacts, 'phone-landscape-stats.png') });
      await page.click('button[data-action="stats"]');
      figures.phoneLandscape = share(g);
      await page.close();
    });
  });

  describe('a desktop (1280×800, mouse)', () => {
    let browser: LaunchedChromium;
    beforeAll(async () => {
      browser = await launchChromium({ viewport: { width: 1280, height: 800 } });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('no stamp strip over Breakout until the stats overlay asks, keys and mouse hint, stats off by default, glass-to-glass never negative', async () => {
      const page = await browser.context.newPage();
      await playBreakout(page, url, 'desktop');
      const g = await geometry(page);
      await page.screenshot({ path: join(artifacts, 'desktop.png') });
      expectReachable(g);
      // Stats off: the edge stamps nothing (the page reads every presented frame and finds no stamp).
      await presented(page, 30);
      expect(await readHook(page, 'lastStamp')).toBeNull();
      expectWholePicture(g);
      expect(g.pad).toEqual([]);
      expect(g.hint).toMatch(/Click the game to capture the mouse/);
      expect(g.hint).toMatch(/Space: Launch/);
      expect(await page.isVisible('.stats')).toBe(false);
      expect(await page.isVisible('button[data-action="touch"]')).toBe(false);

      await page.click('button[data-action="stats"]');
      // The overlay asks for stamps: they arrive and the strip is cropped out of view.
      await until(
        () => readHook(page, 'lastStamp'),
        (stamp) => stamp !== null,
        { what: 'a stamped frame once the overlay is open' },
      );
      await settle(page);
      expectStampCropped(await geometry(page));
      await takeSamples(page);
      // A few seconds of play: every frame's glass-to-glass (edge clock moved onto the page's) is ≥ 0.
      const started = Date.now();
      const samples: number[] = [];
      while (Date.now() - started < 6000) {
        await page.waitForTimeout(500);
        samples.push(...(await takeSamples(page)).glassToGlassMs);
      }
      expect(samples.length).toBeGreaterThan(30);
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      const overlay = (await page.textContent('.stats')) ?? '';
      expect(overlay).toMatch(/g2g +\d+\.\d ms ±\d+\.\d/);
      expect(overlay).not.toMatch(/-\d/);
      const withStats = await geometry(page);
      expectReachable(withStats);
      await page.screenshot({ path: join(artifacts, 'desktop-stats.png') });
      await expectAccessible(page, 'desktop-play');
      // Overlay closed: stamps stop and the whole picture comes back.
      await page.click('button[data-action="stats"]');
      await until(
        () => geometry(page),
        (closed) => Math.abs(closed.video.y - closed.screen.y) < 0.5,
        { what: 'the whole picture once the overlay is closed' },
      );
      figures.desktop = share(g);
      await page.close();
    });
  });
});
