import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { eventually, startTestEdge } from './edge-support.js';

let server: EdgeServer;
let edge: Edge;

beforeAll(async () => {
  server = await startTestEdge();
  edge = server.edge;
});

afterAll(async () => {
  await server?.close();
});

/**
 * An offer as GStreamer's webrtcbin sends it with max-bundle: every section but the first has port 0
 * and `a=bundle-only`, and no transport attributes or candidates of its own (RFC 8843, JSEP).
 */
function makeBundleOnly(offer: string): string {
  const [session, ...sections] = offer.split(/\r\nm=/);
  const transport = /^a=(ice-ufrag|ice-pwd|ice-options|fingerprint|setup|candidate|end-of-candidates|rtcp:)/;
  const rest = sections.slice(1).map((section) =>
    section
      .split('\r\n')
      .filter((line) => !transport.test(line))
      .map((line, index) => (index === 0 ? line.replace(/^(\w+) \d+ /, '$1 0 ') : line))
      .concat('a=bundle-only')
      .join('\r\n'),
  );
  return [session, sections[0], ...rest].join('\r\nm=').replace(/(\r\n)*$/, '\r\n');
}

/** A third-party WHEP viewer: recvonly video + audio, offer with all candidates. */
async function whepOffer(): Promise<{
  peer: RTCPeerConnection;
  offer: string;
  frames: () => number;
  audioPackets: () => number;
}> {
  const peer = new RTCPeerConnection({
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceFilterCandidatePair: (pair) => pair.localCandidate.host === '127.0.0.1',
    bundlePolicy: 'max-bundle',
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/H264',
          clockRate: 90_000,
          rtcpFeedback: [{ type: 'nack', parameter: 'pli' }],
          parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
        }),
      ],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
    },
  });
  let frames = 0;
  let audioPackets = 0;
  const video = peer.addTransceiver('video', { direction: 'recvonly' });
  const audio = peer.addTransceiver('audio', { direction: 'recvonly' });
  video.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      if (rtp.header.marker) frames++;
    });
  });
  audio.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe(() => {
      audioPackets++;
    });
  });
  await peer.setLocalDescription(await peer.createOffer());
  await eventually(() => peer.iceGatheringState === 'complete', 5_000, 'gathering');
  return {
    peer,
    offer: peer.localDescription?.sdp ?? '',
    frames: () => frames,
    audioPackets: () => audioPackets,
  };
}

describe('WHEP endpoint', () => {
  it('answers an SDP offer, streams, and ends on DELETE', async () => {
    const session = edge.createSession('breakout');
    const viewer = await whepOffer();
    try {
      const response = await fetch(`${edge.url}/v1/whep`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${session.token}` },
        body: viewer.offer,
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('content-type')).toContain('application/sdp');
      const location = response.headers.get('location');
      expect(location).toBe(`/v1/whep/${session.sessionId}`);
      await viewer.peer.setRemoteDescription({ type: 'answer', sdp: await response.text() });
      await eventually(
        () => viewer.frames() > 10 && viewer.audioPackets() > 10,
        15_000,
        'WHEP video and audio',
      );
      const wrong = await fetch(`${edge.url}${location}`, {
        method: 'DELETE',
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(404);
      const ended = await fetch(`${edge.url}${location}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${session.token}` },
      });
      expect(ended.status).toBe(200);
      await eventually(() => edge.info().activeSessions === 0, 5_000, 'WHEP session ended');
    } finally {
      await viewer.peer.close();
    }
  });

  it('streams audio too to a viewer whose offer makes audio bundle-only (max-bundle, as GStreamer sends)', async () => {
    const session = edge.createSession('breakout');
    const viewer = await whepOffer();
    try {
      const offer = makeBundleOnly(viewer.offer);
      expect(offer).toMatch(/\r\nm=audio 0 [^\r]*\r\n(.*\r\n)*a=bundle-only\r\n/);
      const response = await fetch(`${edge.url}/v1/whep`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${session.token}` },
        body: offer,
      });
      expect(response.status).toBe(201);
      const answer = await response.text();
      // Audio is answered sending, inside the BUNDLE group with video.
      const audioSection = answer.slice(answer.indexOf('\r\nm=audio'));
      expect(audioSection).toMatch(/^\r\nm=audio [1-9]\d* /);
      expect(audioSection).toMatch(/\r\na=sendonly\r\n/);
      const audioMid = /\r\na=mid:(\S+)/.exec(audioSection)?.[1];
      expect(answer).toMatch(new RegExp(`a=group:BUNDLE [^\r]*\\b${audioMid}\\b`));
      await viewer.peer.setRemoteDescription({ type: 'answer', sdp: answer });
      await eventually(
        () => viewer.frames() > 10 && viewer.audioPackets() > 10,
        15_000,
        'WHEP video and audio',
      );
    } finally {
      await viewer.peer.close();
      await fetch(`${edge.url}/v1/whep/${session.sessionId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${session.token}` },
      });
      await eventually(() => edge.info().activeSessions === 0, 5_000, 'WHEP session ended');
    }
  });

  it('refuses garbage offers and bad tokens with stable codes', async () => {
    const session = edge.createSession('breakout');
    const garbage = await fetch(`${edge.url}/v1/whep?token=${encodeURIComponent(session.token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: 'v=0\r\nnothing here',
    });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ code: 'EDGE_BAD_SDP' });
    const badToken = await fetch(`${edge.url}/v1/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: 'Bearer v1.x.y' },
      body: 'v=0\r\n',
    });
    expect(badToken.status).toBe(401);
    expect(await badToken.json()).toMatchObject({ code: 'EDGE_BAD_TOKEN' });
    await eventually(() => edge.info().activeSessions === 0, 5_000, 'no session left');
  });
});
