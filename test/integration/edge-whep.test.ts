import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters } from 'werift';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { shareExtensionIdsAcrossKinds } from '../../edge/session/rtpHeaderExtensions.js';
import { launchChromium } from '../support/chromium.js';
import { runInPage, until } from '../support/playerPage.js';
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
async function whepOffer(headerExtensions?: { audio: string[]; video: string[] }): Promise<{
  peer: RTCPeerConnection;
  offer: string;
  frames: () => number;
  audioPackets: () => number;
  /** Header extension ids seen on the packets received, per kind. */
  extensionIds: { video: Set<number>; audio: Set<number> };
}> {
  const extensions = (uris: string[]) => uris.map((uri) => new RTCRtpHeaderExtensionParameters({ uri }));
  // One id per URI across audio and video (mid 1, …, in order of first use, audio first), as in a BUNDLE.
  const peer = new RTCPeerConnection({
    ...(headerExtensions
      ? {
          headerExtensions: {
            audio: extensions(headerExtensions.audio),
            video: extensions(headerExtensions.video),
          },
        }
      : {}),
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
  shareExtensionIdsAcrossKinds(peer.config.headerExtensions);
  let frames = 0;
  let audioPackets = 0;
  const extensionIds = { video: new Set<number>(), audio: new Set<number>() };
  const video = peer.addTransceiver('video', { direction: 'recvonly' });
  const audio = peer.addTransceiver('audio', { direction: 'recvonly' });
  video.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      if (rtp.header.marker) frames++;
      for (const { id } of rtp.header.extensions) extensionIds.video.add(id);
    });
  });
  audio.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      audioPackets++;
      for (const { id } of rtp.header.extensions) extensionIds.audio.add(id);
    });
  });
  await peer.setLocalDescription(await peer.createOffer());
  await eventually(() => peer.iceGatheringState === 'complete', 5_000, 'gathering');
  return {
    peer,
    offer: peer.localDescription?.sdp ?? '',
    frames: () => frames,
    audioPackets: () => audioPackets,
    extensionIds,
  };
}

type Extmap = { kind: string; id: number; uri: string };

/** The `a=extmap` lines of a description, with the kind of their m-section. */
function extmaps(sdp: string): Extmap[] {
  const found: Extmap[] = [];
  let kind = '';
  for (const line of sdp.split(/\r?\n/)) {
    kind = /^m=(\w+) /.exec(line)?.[1] ?? kind;
    const extmap = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
    if (extmap) found.push({ kind, id: Number(extmap[1]), uri: extmap[2] ?? '' });
  }
  return found;
}

const AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

type WhepSession = { sessionId: string; token: string };

/** POSTs a WHEP offer for `session`, with its token. */
function postWhep(session: WhepSession, offer: string): Promise<Response> {
  return fetch(`${edge.url}/v1/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${session.token}` },
    body: offer,
  });
}

/** Ends a WHEP session (DELETE with its token) and waits for the edge to have none. */
async function endWhep(session: WhepSession): Promise<void> {
  await fetch(`${edge.url}/v1/whep/${session.sessionId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.token}` },
  });
  await eventually(() => edge.info().activeSessions === 0, 5_000, 'WHEP session ended');
}

/** POSTs `offer` for a new session; returns the answer, applied to the viewer, and the session's end. */
async function postOffer(
  viewer: Awaited<ReturnType<typeof whepOffer>>,
  offer: string,
): Promise<{ answer: string; end: () => Promise<void> }> {
  const session = edge.createSession('breakout');
  const end = async () => {
    await viewer.peer.close();
    await endWhep(session);
  };
  const response = await postWhep(session, offer);
  expect(response.status).toBe(201);
  const answer = await response.text();
  await viewer.peer.setRemoteDescription({ type: 'answer', sdp: answer });
  return { answer, end };
}

describe('WHEP endpoint', () => {
  it('answers an SDP offer, streams, and ends on DELETE', async () => {
    const session = edge.createSession('breakout');
    const viewer = await whepOffer();
    try {
      const response = await postWhep(session, viewer.offer);
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
      const response = await postWhep(session, offer);
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
      await endWhep(session);
    }
  });

  it('answers an offer with no extension it knows with none, never an id the offer gives another URI', async () => {
    // The viewer's ids are 1, 2, 3: the ids the edge's own configuration gives mid, abs-send-time and
    // transport-cc, which werift would answer with if it fell back to its configured extensions.
    const viewer = await whepOffer({
      audio: [AUDIO_LEVEL],
      video: ['urn:ietf:params:rtp-hdrext:toffset', 'urn:3gpp:video-orientation'],
    });
    expect(extmaps(viewer.offer).map((e) => `${e.id} ${e.uri}`)).toEqual(
      expect.arrayContaining([
        `1 ${AUDIO_LEVEL}`,
        expect.stringMatching(/^2 /),
        expect.stringMatching(/^3 /),
      ]),
    );
    const { answer, end } = await postOffer(viewer, viewer.offer);
    try {
      expect(extmaps(answer)).toEqual([]);
      await eventually(
        () => viewer.frames() > 10 && viewer.audioPackets() > 10,
        15_000,
        'WHEP video and audio',
      );
      expect([...viewer.extensionIds.video, ...viewer.extensionIds.audio]).toEqual([]);
    } finally {
      await end();
    }
  });

  it('leaves out an extension id the offer gives two URIs in its BUNDLE group, and sends only what it answered', async () => {
    const viewer = await whepOffer({ audio: [MID, AUDIO_LEVEL], video: [MID, ABS_SEND_TIME] });
    const offered = extmaps(viewer.offer);
    const audioLevelId = offered.find((e) => e.uri === AUDIO_LEVEL)?.id;
    expect(offered.filter((e) => e.uri === MID).map((e) => e.id)).toEqual([1, 1]);
    // As a client numbering each section on its own: the video's abs-send-time takes the audio level's id.
    const offer = viewer.offer.replace(
      /a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/abs-send-time/,
      `a=extmap:${audioLevelId} ${ABS_SEND_TIME}`,
    );
    const bundleIds = extmaps(offer).filter((e) => e.id === audioLevelId);
    expect(bundleIds.map((e) => [e.kind, e.uri])).toEqual([
      ['video', ABS_SEND_TIME],
      ['audio', AUDIO_LEVEL],
    ]);
    const { answer, end } = await postOffer(viewer, offer);
    try {
      const answered = extmaps(answer);
      const midId = offered.find((e) => e.uri === MID)?.id;
      expect(answered).toEqual([
        { kind: 'video', id: midId, uri: MID },
        { kind: 'audio', id: midId, uri: MID },
      ]);
      await eventually(
        () => viewer.frames() > 10 && viewer.audioPackets() > 10,
        15_000,
        'WHEP video and audio',
      );
      expect([...viewer.extensionIds.video]).toEqual([midId]);
      expect([...viewer.extensionIds.audio]).toEqual([midId]);
    } finally {
      await end();
    }
  });

  it('plays in Chromium when its offer keeps no extension the edge knows (the answer has none)', async () => {
    const chromium = await launchChromium();
    const session = edge.createSession('breakout');
    try {
      const page = await chromium.context.newPage();
      const offer = await runInPage<string>(
        page,
        `async () => {
          const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
          window.viewer = pc;
          pc.addTransceiver('video', { direction: 'recvonly' });
          pc.addTransceiver('audio', { direction: 'recvonly' });
          await pc.setLocalDescription(await pc.createOffer());
          if (pc.iceGatheringState !== 'complete') {
            await new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => {
              if (pc.iceGatheringState === 'complete') resolve();
            }));
          }
          return pc.localDescription.sdp;
        }`,
      );
      // What the edge knows, taken out: Chromium's remaining ids (audio level 1, toffset, …) are ones the
      // edge's own configuration numbers mid, abs-send-time, transport-cc, … from 1.
      const known = [MID, ABS_SEND_TIME, 'transport-wide-cc', 'abs-capture-time', 'playout-delay'];
      const stripped = offer
        .split('\r\n')
        .filter((line) => !(line.startsWith('a=extmap:') && known.some((uri) => line.includes(uri))))
        .join('\r\n');
      const left = extmaps(stripped);
      expect(left.map((e) => e.uri)).toContain(AUDIO_LEVEL);
      expect(left.map((e) => e.id)).toContain(1);
      const response = await postWhep(session, stripped);
      expect(response.status).toBe(201);
      const answer = await response.text();
      expect(extmaps(answer)).toEqual([]);
      await runInPage(page, '(sdp) => window.viewer.setRemoteDescription({ type: "answer", sdp })', answer);
      const decoded = () =>
        runInPage<number>(
          page,
          `async () => {
            let frames = 0;
            (await window.viewer.getStats()).forEach((report) => {
              if (report.type === 'inbound-rtp' && report.kind === 'video') frames = report.framesDecoded ?? 0;
            });
            return frames;
          }`,
        );
      await until(decoded, (frames) => frames > 30, {
        timeoutMs: 20_000,
        what: 'Chromium decoding the WHEP video',
      });
    } finally {
      await chromium.close();
      await endWhep(session);
    }
  }, 60_000);

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
