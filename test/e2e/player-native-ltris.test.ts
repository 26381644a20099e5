import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEdgeConfig } from '../../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { NativeGameCatalog } from '../../edge/native/NativeGameCatalog.js';
import { PackageCache } from '../../edge/packages/PackageCache.js';
import { type RunningMatchmaker, startMatchmaker } from '../../matchmaker/startMatchmaker.js';
import { runFarplay } from '../../matchmaker/studio-cli/farplay.js';
import { deploymentOf } from '../../protocol/deployment.js';
import { playerTestDistDir } from '../../scripts/buildPlayer.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { nativeToolsMissing } from '../support/nativeGame.js';
import { readHook, runInPage, until } from '../support/playerPage.js';

// A real game from Debian's packages (LTris, SDL 1.2, no GL) published by a studio with `farplay studio
// publish` into a local matchmaker, allocated to an edge that runs native X11 games, played in Chromium:
// the picture moves, key presses in the page change it, and its sound arrives as non-silent audio.

const LTRIS = '/usr/games/ltris';
const missing = [...nativeToolsMissing(), ...(existsSync(LTRIS) ? [] : ['ltris (apt-get install ltris)'])];
const logger = pino({ level: process.env.EDGE_TEST_LOG ?? 'silent' });
const fixture = fileURLToPath(new URL('../fixtures/ltris', import.meta.url));

/** A 32×24 grid of mean luma over the current video picture below the stamp strip (null before the first frame). */
function frameGrid(page: Page): Promise<number[] | null> {
  return runInPage(
    page,
    `() => {
      const video = document.querySelector('video');
      if (!video || video.videoWidth === 0) return null;
      const canvas = document.createElement('canvas');
      canvas.width = 32;
      canvas.height = 24;
      const context = canvas.getContext('2d', { willReadFrequently: true });
      // Below the edge's frame-stamp strip (its top 40 px at 720p change every frame).
      const top = Math.ceil(video.videoHeight * 0.08);
      context.drawImage(video, 0, top, video.videoWidth, video.videoHeight - top, 0, 0, 32, 24);
      const data = context.getImageData(0, 0, 32, 24).data;
      const out = [];
      for (let i = 0; i < data.length; i += 4) out.push(0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]);
      return out;
    }`,
  );
}

/** The picture once it holds still: two grids half a second apart differing in at most 2 cells (coding noise). */
async function stillFrame(page: Page): Promise<number[]> {
  let previous: number[] | null = null;
  const settled = await until(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const current = await frameGrid(page);
      const changed = previous !== null && current !== null ? changedCells(previous, current) : -1;
      previous = current;
      return { changed, grid: current };
    },
    (value) => value.changed >= 0 && value.changed <= 2,
    { what: 'the picture to hold still' },
  );
  return settled.grid as number[];
}

/** Cells (of the 32×24 grid) whose luma differs by more than 12 between two pictures. */
function changedCells(a: number[], b: number[]): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs((a[i] ?? 0) - (b[i] ?? 0)) > 12) n++;
  return n;
}

/** Decoded audio of the page's stream so far: Chromium's inbound-rtp audio energy and samples. */
function audioReceived(page: Page): Promise<{ energy: number; samples: number }> {
  return runInPage(
    page,
    `async () => {
      let energy = 0;
      let samples = 0;
      for (const pc of window.__peerConnections ?? []) {
        if (pc.connectionState === 'closed') continue;
        const stats = await pc.getStats();
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') {
            energy += s.totalAudioEnergy ?? 0;
            samples += s.totalSamplesReceived ?? 0;
          }
        });
      }
      return { energy, samples };
    }`,
  );
}

describe.skipIf(missing.length > 0)(
  'LTris from Debian, published with farplay studio, played in Chromium',
  () => {
    let matchmaker: RunningMatchmaker;
    let server: EdgeServer;
    let control: EdgeControl;
    let catalog: NativeGameCatalog;
    let browser: LaunchedChromium;
    const dirs: string[] = [];
    let published: string[] = [];

    beforeAll(async () => {
      matchmaker = await startMatchmaker(
        {
          port: 0,
          logLevel: 'silent',
          staticDir: playerTestDistDir,
          studioApiKeys: 'lgames=lgames-key',
          refreshMs: 100,
        },
        logger,
      );
      published = [];
      const code = await runFarplay({
        argv: ['studio', 'publish', '--matchmaker', matchmaker.url, fixture],
        env: { PATH: process.env.PATH, HOME: tmpdir(), FARPLAY_STUDIO_API_KEY: 'lgames-key' },
        output: {
          out: (line) => published.push(line),
          err: (line) => published.push(line),
          progress: () => {},
        },
        stdin: new PassThrough() as unknown as NodeJS.ReadStream,
        stderr: new PassThrough() as unknown as NodeJS.WriteStream,
      });
      expect(code, published.join('\n')).toBe(0);

      const key = generatePrivateKey();
      const tmp = (): string => {
        const d = mkdtempSync(join(tmpdir(), 'farplay-ltris-'));
        dirs.push(d);
        return d;
      };
      catalog = new NativeGameCatalog({
        matchmakerUrl: matchmaker.url,
        packages: new PackageCache({
          dir: tmp(),
          matchmakerUrl: matchmaker.url,
          auth: { account: privateKeyToAccount(key), deployment: deploymentOf(matchmaker.sessionPublicKey) },
        }),
        runtimeDir: tmp(),
        logger,
      });
      server = await createEdge({
        config: parseEdgeConfig({
          port: 0,
          nodePrivateKey: key,
          matchmakerPublicKey: matchmaker.sessionPublicKey,
          logLevel: 'silent',
          capacity: 1,
          connectTimeoutSeconds: 30,
          allowPrivateCandidates: true, // Chromium on loopback
        }),
        logger,
        encoderProbe: await probeEncoders({ candidates: ['libx264'] }),
        packageGames: catalog,
      });
      await server.listen({ host: '127.0.0.1', port: 0 });
      control = startEdgeControl({
        edge: server.edge,
        account: privateKeyToAccount(key),
        matchmakerUrl: matchmaker.url,
        heartbeatMs: 500,
        logger,
      });
      await control.registered;
      browser = await launchChromium();
      // Count the page's peer connections so the test can read their audio statistics.
      await browser.context.addInitScript(`(() => {
      const Original = window.RTCPeerConnection;
      window.__peerConnections = [];
      window.RTCPeerConnection = class extends Original {
        constructor(...args) {
          super(...args);
          window.__peerConnections.push(this);
        }
      };
    })()`);
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await control?.close();
      await server?.close();
      await catalog?.close();
      await matchmaker?.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('streams LTris: the picture moves, keys change it, and its sounds arrive', async () => {
      expect(published.join('\n')).toMatch(/^version 1$/m);
      const page = await browser.context.newPage();
      await page.goto(`${matchmaker.url}/#/play/ltris`);
      await until(
        () => readHook(page, 'state'),
        (state) => state === 'playing' || state === 'error' || state === 'ended',
        { what: 'the stream to start', timeoutMs: 60_000 },
      );
      expect(await readHook(page, 'error')).toBeNull();
      expect(await readHook(page, 'state')).toBe('playing');
      await until(
        () => readHook(page, 'framesDecoded'),
        (frames) => frames > 30,
        { what: 'decoded frames' },
      );

      // The menu holds still until a key: ArrowDown selects 'New Game' (the picture changes) with a click.
      const menu = await stillFrame(page);
      const soundBefore = await audioReceived(page);
      await page.keyboard.press('ArrowDown');
      const selected = await until(
        () => frameGrid(page),
        (grid) => grid !== null && changedCells(menu, grid) > 4,
        { what: 'ArrowDown to move the menu selection' },
      );
      expect(changedCells(menu, selected as number[])).toBeGreaterThan(4);
      // Chromium decodes LTris's click into audio with energy (the idle menu is silent).
      const sound = await until(
        () => audioReceived(page),
        (audio) => audio.energy - soundBefore.energy > 1e-4,
        { what: 'non-silent decoded audio' },
      );
      expect(sound.samples).toBeGreaterThan(soundBefore.samples);
      expect(sound.energy - soundBefore.energy).toBeGreaterThan(1e-4);

      // Enter opens 'New Game' (or, when the pointer already rests on it, starts a game); ArrowDown + Enter on
      // 'Start Game' starts the (demo) game: blocks fall on their own, so consecutive pictures differ.
      await page.keyboard.press('Enter');
      let started = false;
      const falling = await until(
        async () => {
          const a = await frameGrid(page);
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const b = await frameGrid(page);
          const cells = a && b ? changedCells(a, b) : 0;
          if (cells <= 2 && !started) {
            started = true;
            await page.keyboard.press('ArrowDown');
            await page.keyboard.press('Enter');
          }
          return cells;
        },
        (cells) => cells > 2,
        { what: 'falling blocks' },
      );
      expect(falling).toBeGreaterThan(2);
      expect(await readHook(page, 'state')).toBe('playing');
      await page.close();
    });
  },
);
