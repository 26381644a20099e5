import type { Page } from 'playwright-core';

/**
 * Reading Chromium's own inbound-rtp video stats from a page that plays a stream (the e2e network tests and
 * bench/network.ts). `CAPTURE_PEERS` goes in with `page.addInitScript` before the page loads: it keeps every
 * RTCPeerConnection the page makes in `window.__testPeers`, and `readInboundVideo` reads the newest one.
 */
export const CAPTURE_PEERS = `(() => {
  const Original = window.RTCPeerConnection;
  window.__testPeers = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); window.__testPeers.push(this); }
  };
})()`;

/** Chromium's counters of the received video (cumulative), all 0 before the stream has any. */
export interface InboundVideo {
  framesDecoded: number;
  freezeCount: number;
  /** Chromium's total freeze duration so far. */
  freezeMs: number;
  bytesReceived: number;
  packetsLost: number;
  nackCount: number;
  /** Chromium leaves these out for ULPFEC (its histograms count it: test/e2e/player-fec.test.ts). */
  fecReceived: number;
  fecDiscarded: number;
  width: number;
  height: number;
  /** When it was read (this process's clock). */
  atMs: number;
}

const READ_INBOUND = `async () => {
  const peer = window.__testPeers?.at(-1);
  if (!peer) return null;
  for (const entry of (await peer.getStats()).values()) {
    if (entry.type === 'inbound-rtp' && entry.kind === 'video') {
      return {
        framesDecoded: entry.framesDecoded ?? 0,
        freezeCount: entry.freezeCount ?? 0,
        freezeMs: (entry.totalFreezesDuration ?? 0) * 1000,
        bytesReceived: entry.bytesReceived ?? 0,
        packetsLost: entry.packetsLost ?? 0,
        nackCount: entry.nackCount ?? 0,
        fecReceived: entry.fecPacketsReceived ?? 0,
        fecDiscarded: entry.fecPacketsDiscarded ?? 0,
        width: entry.frameWidth ?? 0,
        height: entry.frameHeight ?? 0,
      };
    }
  }
  return null;
}`;

/** The page's newest peer connection's inbound video counters (zeros while there is none). */
export async function readInboundVideo(page: Page): Promise<InboundVideo> {
  const read = (await page.evaluate(`(${READ_INBOUND})()`)) as Omit<InboundVideo, 'atMs'> | null;
  return {
    framesDecoded: 0,
    freezeCount: 0,
    freezeMs: 0,
    bytesReceived: 0,
    packetsLost: 0,
    nackCount: 0,
    fecReceived: 0,
    fecDiscarded: 0,
    width: 0,
    height: 0,
    ...read,
    atMs: Date.now(),
  };
}

/** Closes the page's newest peer connection (Chromium records a receive stream's histograms when it ends). */
export async function closeCapturedPeer(page: Page): Promise<void> {
  await page.evaluate('window.__testPeers?.at(-1)?.close()');
}
