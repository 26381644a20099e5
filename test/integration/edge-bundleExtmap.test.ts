import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RTCPeerConnection as EdgePeer, MediaStreamTrack } from 'werift';
import { loadEdgeConfig } from '../../edge/config.js';
import { createPeerConnection } from '../../edge/session/createPeerConnection.js';
import { negotiatedExtensionId } from '../../edge/session/rtpHeaderExtensions.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';

/**
 * Within one BUNDLE group a header extension id must mean the same URI on every m-section (RFC 8843
 * §9.2, RFC 8285 §5). The edge used to offer mid / abs-send-time as 1, 2 on audio and 3, 4 on video:
 * Chromium refused the video's registration and could not read those extensions on any video packet.
 */

/** The little of the browser's RTCPeerConnection used here (the tests' types have no DOM). */
interface BrowserPeer {
  addTransceiver(kind: string, init: { direction: string }): unknown;
  setRemoteDescription(description: { type: string; sdp: string }): Promise<void>;
  setLocalDescription(description: { type: string; sdp?: string }): Promise<void>;
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
}
type BrowserPeerClass = new (config: { bundlePolicy: string }) => BrowserPeer;

type Extmaps = Array<{ kind: string; id: number; uri: string }>;

function extmaps(sdp: string): Extmaps {
  const found: Extmaps = [];
  let kind = '';
  for (const line of sdp.split('\r\n')) {
    const media = /^m=(\w+) /.exec(line);
    if (media) kind = media[1] ?? '';
    const extmap = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (extmap) found.push({ kind, id: Number(extmap[1]), uri: extmap[2] ?? '' });
  }
  return found;
}

/** Fails unless every URI has one id and every id one URI across the description's m-sections. */
function expectOneIdPerUri(sdp: string): Map<string, number> {
  const byUri = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const { id, uri } of extmaps(sdp)) {
    expect(byUri.get(uri) ?? id, `${uri} has two ids`).toBe(id);
    expect(byId.get(id) ?? uri, `id ${id} names two URIs`).toBe(uri);
    byUri.set(uri, id);
    byId.set(id, uri);
  }
  return byUri;
}

const config = { ...loadEdgeConfig({}), congestionControl: true, zeroPlayoutDelay: true, fec: true };

describe('BUNDLE header extension ids (edge ↔ Chromium)', () => {
  let chromium: LaunchedChromium;
  let page: Page;
  const peers: EdgePeer[] = [];

  beforeAll(async () => {
    chromium = await launchChromium();
    page = await chromium.context.newPage();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    await chromium?.close();
  });

  it('offers one id per URI across video and audio, and Chromium answers and the edge sends with those ids', async () => {
    const peer = createPeerConnection(config);
    peers.push(peer);
    // As WebSocketSignalling: video, then audio, both sendonly.
    const video = peer.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
    const audio = peer.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
    const offer = await peer.createOffer();
    await peer.setLocalDescription(offer);
    const offered = expectOneIdPerUri(offer.sdp);
    expect(offered.has('urn:ietf:params:rtp-hdrext:sdes:mid')).toBe(true);
    expect(
      extmaps(offer.sdp)
        .filter((e) => e.uri.endsWith('sdes:mid'))
        .map((e) => e.kind),
    ).toEqual(['video', 'audio']);

    const answerSdp = await page.evaluate(async (sdp: string) => {
      const Peer = (globalThis as unknown as { RTCPeerConnection: BrowserPeerClass }).RTCPeerConnection;
      const pc = new Peer({ bundlePolicy: 'max-bundle' });
      await pc.setRemoteDescription({ type: 'offer', sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      return answer.sdp ?? '';
    }, offer.sdp);
    const answered = expectOneIdPerUri(answerSdp);
    for (const [uri, id] of answered) expect(offered.get(uri), uri).toBe(id);
    expect([...answered.keys()]).toEqual(
      expect.arrayContaining([
        'urn:ietf:params:rtp-hdrext:sdes:mid',
        'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
        'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
        'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
        // Chromium 156 accepts the Dependency Descriptor when it is offered, with no page change.
        'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
      ]),
    );

    await peer.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    for (const [uri, id] of answered) {
      expect(negotiatedExtensionId(video.sender, uri), `video ${uri}`).toBe(id);
      const audioId = negotiatedExtensionId(audio.sender, uri);
      if (audioId !== undefined) expect(audioId, `audio ${uri}`).toBe(id);
    }
  }, 60_000);

  it("answers a Chromium (WHEP-style) offer with the offer's ids on both m-sections", async () => {
    const offerSdp = await page.evaluate(async () => {
      const Peer = (globalThis as unknown as { RTCPeerConnection: BrowserPeerClass }).RTCPeerConnection;
      const pc = new Peer({ bundlePolicy: 'max-bundle' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp ?? '';
    });
    const offered = expectOneIdPerUri(offerSdp);

    const peer = createPeerConnection(config);
    peers.push(peer);
    await peer.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    const answer = await peer.createAnswer();
    await peer.setLocalDescription(answer);
    const answered = expectOneIdPerUri(answer.sdp);
    expect(answered.size).toBeGreaterThan(0);
    for (const [uri, id] of answered) expect(offered.get(uri), uri).toBe(id);
    const [audio, video] = peer.getTransceivers();
    for (const sender of [audio?.sender, video?.sender]) {
      for (const [uri, id] of answered) {
        const sent = sender ? negotiatedExtensionId(sender, uri) : undefined;
        if (sent !== undefined) expect(sent, uri).toBe(id);
      }
    }
  }, 60_000);
});
