import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium; never a downloaded browser. Override with FARPLAY_CHROMIUM. */
export const chromiumPath = process.env.FARPLAY_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for headless WebRTC on loopback (host candidates with real loopback addresses, no mDNS). */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
] as const;

/** A running Chromium with its own fresh profile; `close()` ends it and removes the profile. */
export interface LaunchedChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Debian Chromium (headless, fresh user-data-dir) through playwright-core. */
export async function launchChromium(
  options: {
    viewport?: { width: number; height: number };
    extraArgs?: string[];
    hasTouch?: boolean;
    /** Emulate a phone: meta viewport honoured, touch events, mobile user agent behaviour (default false). */
    isMobile?: boolean;
  } = {},
): Promise<LaunchedChromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'farplay-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: [...chromiumArgs, ...(options.extraArgs ?? [])],
      viewport: options.viewport ?? { width: 1280, height: 800 },
      hasTouch: options.hasTouch ?? false,
      isMobile: options.isMobile ?? false,
    });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  return {
    context,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
