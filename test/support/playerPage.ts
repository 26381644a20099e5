import type { Page } from 'playwright-core';
import type { FarplayHookState, LatencySamples } from '../../player/src/hookTypes.js';

// Node-side helpers to drive the player page (tests and benches). This tsconfig has no DOM lib, so
// page scripts are written as JavaScript source and run as `(<source>)(<JSON args>)`.

/**
 * Makes every player page of `target` ask the edge for frame stamps (localStorage `farplay.stamps`), as a
 * benchmark does: glass-to-glass, input-to-photon and `lastStamp` need them; without, frames carry none.
 */
export async function askForStamps(target: Pick<Page, 'addInitScript'>): Promise<void> {
  await target.addInitScript("localStorage.setItem('farplay.stamps', 'on')");
}

/** Runs `source` (a JS function expression) in the page with `arg` (JSON) and returns its result. */
export function runInPage<T>(page: Page, source: string, arg?: unknown): Promise<T> {
  return page.evaluate(`(${source})(${arg === undefined ? '' : JSON.stringify(arg)})`) as Promise<T>;
}

/** One field of the player's test hook `window.__farplay` (player/README.md). */
export function readHook<K extends keyof FarplayHookState>(page: Page, key: K): Promise<FarplayHookState[K]> {
  return runInPage(page, '(key) => window.__farplay[key] ?? null', key) as Promise<FarplayHookState[K]>;
}

/** Presses and releases a key through the hook; resolves to the keyDown's input seq (0 if not sent). */
export function sendKey(page: Page, code: string): Promise<number> {
  return runInPage(page, '(code) => window.__farplay.sendKey(code)', code);
}

/** Returns and clears the player's latency samples. */
export function takeSamples(page: Page): Promise<LatencySamples> {
  return runInPage(page, '() => window.__farplay.takeSamples()');
}

/** Mean colour [r, g, b] of a `size`² patch of the current video picture centred on (x, y) in video pixels; null before any frame. */
export function colorAt(
  page: Page,
  x: number,
  y: number,
  size = 8,
): Promise<[number, number, number] | null> {
  return runInPage(
    page,
    `({ x, y, size }) => {
      const video = document.querySelector('video');
      if (!video || video.videoWidth === 0) return null;
      const canvas = document.createElement('canvas');
      canvas.width = size;
      canvas.height = size;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      context.drawImage(video, x - size / 2, y - size / 2, size, size, 0, 0, size, size);
      const data = context.getImageData(0, 0, size, size).data;
      const sum = [0, 0, 0];
      for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += data[i + c];
      return sum.map((value) => value / (size * size));
    }`,
    { x, y, size },
  );
}

/** Mean luma (0..255) of a patch of the current video picture (see colorAt); -1 before any frame. */
export async function lumaAt(page: Page, x: number, y: number, size = 8): Promise<number> {
  const color = await colorAt(page, x, y, size);
  return color === null ? -1 : 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2];
}

/**
 * Polls `read` every `stepMs` until `accept` holds and returns that value; after `timeoutMs`
 * (default 30 s) throws an error naming the last value read, so a failing wait says what it saw.
 */
export async function until<T>(
  read: () => Promise<T> | T,
  accept: (value: T) => boolean,
  options: { stepMs?: number; timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const stepMs = options.stepMs ?? 100;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting${options.what ? ` for ${options.what}` : ''}; last value: ${JSON.stringify(value)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
