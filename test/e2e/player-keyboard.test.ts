import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { stampHeight } from '../../protocol/frameStamp.js';
import { playerTestDistDir } from '../../scripts/buildPlayer.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { askForStamps, lumaAt, readHook, runInPage, until } from '../support/playerPage.js';

// The player with a keyboard alone, in Debian Chromium against a real standalone edge: Tab reaches a
// tile with a focus ring one can see, Enter plays it, the game's keys reach the game, the controls
// are reachable and pressable, Escape leaves fullscreen first and then the game, back on the tile.

interface Focused {
  tag: string;
  gameId: string | null;
  action: string | null;
  stage: boolean;
  focusVisible: boolean;
  outlineStyle: string;
  outlineWidth: number;
}

/** The focused element and its computed focus ring (its own outline or its ::after's). */
function focused(page: Page): Promise<Focused> {
  return runInPage(
    page,
    `() => {
      const element = document.activeElement;
      // The ring is the element's outline, or its ::after's where that covers a larger box (a tile).
      const own = getComputedStyle(element);
      const style = own.outlineStyle === 'none' ? getComputedStyle(element, '::after') : own;
      return {
        tag: element.tagName.toLowerCase(),
        gameId: element.dataset.gameId ?? null,
        action: element.dataset.action ?? null,
        stage: element.classList.contains('stage'),
        focusVisible: element.matches(':focus-visible'),
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth) || 0,
      };
    }`,
  );
}

/** A ring one can see: the element matches :focus-visible and draws a solid outline at least 2 px wide. */
function expectRing(focus: Focused): void {
  expect(focus.focusVisible, `${focus.tag} matches :focus-visible`).toBe(true);
  expect(focus.outlineStyle).toBe('solid');
  expect(focus.outlineWidth).toBeGreaterThanOrEqual(2);
}

/** Presses `key` until the focus is on what `want` accepts (at most `max` presses); returns that focus. */
async function tabTo(page: Page, key: string, want: (focus: Focused) => boolean, max = 12): Promise<Focused> {
  let focus = await focused(page);
  for (let i = 0; i < max && !want(focus); i++) {
    await page.keyboard.press(key);
    focus = await focused(page);
  }
  return focus;
}

describe('the player with a keyboard alone', () => {
  let server: EdgeServer;
  let url: string;
  let browser: LaunchedChromium;

  beforeAll(async () => {
    server = await createEdge({
      config: parseEdgeConfig({ port: 0, staticDir: playerTestDistDir, capacity: 2, logLevel: 'silent' }),
      logger: pino({ level: 'silent' }),
    });
    url = await server.listen({ port: 0 });
    browser = await launchChromium({ viewport: { width: 1280, height: 800 } });
    await askForStamps(browser.context); // the probe scene's stamps carry the applied input seq
  });

  afterEach(async () => {
    for (const page of browser?.context.pages() ?? []) await page.close();
    await until(
      () => server.edge.info().activeSessions,
      (active) => active === 0,
      { what: 'the edge to free every slot' },
    );
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('Tab reaches a tile with a visible ring, Enter plays it, keys reach the game, Escape goes back to the tile', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector('.game-card');
    const tile = await tabTo(page, 'Tab', (focus) => focus.gameId === 'latency-probe');
    expect(tile.gameId).toBe('latency-probe');
    expectRing(tile);

    await page.keyboard.press('Enter');
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'playing' || state === 'dropped' || state === 'error',
    );
    expect(await readHook(page, 'state')).toBe('playing');
    await until(
      () => readHook(page, 'lastStamp'),
      (stamp) => stamp !== null,
    );
    // The game has the focus and the keys: Space flips the probe scene's square (dark → lit).
    expect((await focused(page)).stage).toBe(true);
    const x = Math.round(1280 * 0.8 + 720 * 0.06);
    const y = Math.round(stampHeight(1280) + 8 + 720 * 0.05 + 720 * 0.06);
    expect(await lumaAt(page, x, y)).toBeLessThan(100);
    await page.keyboard.press('Space');
    expect(
      await until(
        () => lumaAt(page, x, y),
        (luma) => luma > 200,
      ),
    ).toBeGreaterThan(200);

    // Shift+Tab reaches the controls, each with a ring (the Shift pressed on the game is the game's:
    // the square may flip once more); Space presses the control focused, not the game.
    const stats = await tabTo(page, 'Shift+Tab', (focus) => focus.action === 'stats');
    expect(stats.action).toBe('stats');
    expectRing(stats);
    const settled = await readHook(page, 'framesDecoded');
    await until(
      () => readHook(page, 'framesDecoded'),
      (count) => count > settled + 30,
    );
    const lit = (await lumaAt(page, x, y)) > 150;
    await page.keyboard.press('Space');
    await page.waitForSelector('.stats', { state: 'visible' });
    expect(await page.getAttribute('button[data-action="stats"]', 'aria-pressed')).toBe('true');
    expect((await focused(page)).action).toBe('stats');
    const frames = await readHook(page, 'framesDecoded');
    await until(
      () => readHook(page, 'framesDecoded'),
      (count) => count > frames + 30,
    );
    expect((await lumaAt(page, x, y)) > 150, 'the square did not flip: Space was not sent').toBe(lit);

    // Escape leaves the game: the catalogue, the focus back on the tile, the slot freed.
    await page.keyboard.press('Escape');
    await page.waitForSelector('.game-card');
    const back = await until(
      () => focused(page),
      (focus) => focus.gameId === 'latency-probe',
      { what: 'the focus back on the tile' },
    );
    expectRing(back);
    expect(await readHook(page, 'state')).toBe('catalog');
    await until(
      () => server.edge.info().activeSessions,
      (active) => active === 0,
    );
    await page.close();
  });

  it('Space starts a game too; Escape leaves fullscreen first, then the game', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector('.game-card');
    const tile = await tabTo(page, 'Tab', (focus) => focus.gameId === 'breakout');
    expect(tile.gameId).toBe('breakout');
    await page.keyboard.press('Space');
    await until(
      () => readHook(page, 'state'),
      (state) => state === 'playing' || state === 'dropped' || state === 'error',
    );
    expect(await readHook(page, 'state')).toBe('playing');

    const fullscreen = await tabTo(page, 'Shift+Tab', (focus) => focus.action === 'fullscreen');
    expect(fullscreen.action).toBe('fullscreen');
    await page.keyboard.press('Enter');
    await page.waitForFunction('document.fullscreenElement?.classList.contains("stage") === true');

    await page.keyboard.press('Escape');
    await page.waitForFunction('document.fullscreenElement === null');
    expect(await readHook(page, 'state')).toBe('playing');
    expect(await page.isVisible('.stage')).toBe(true);

    await page.keyboard.press('Escape');
    await page.waitForSelector('.game-card');
    expect(await readHook(page, 'state')).toBe('catalog');
    await page.close();
  });
});
