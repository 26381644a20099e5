import { createSocket, type Socket } from 'node:dgram';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { H264Encoder } from '../../edge/media/H264Encoder.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { eventually } from './edge-support.js';

// Issue 8, the edge's smaller holes: a player cannot make the edge send to its own network or localhost
// (remote ICE candidates), a WHEP offer is checked before anything is opened for it, resizes cannot make
// the edge re-open encoders at message rate, and request logs never carry a session token.

const logLines: string[] = [];
let opens = 0;
let publicEdge: EdgeServer;
let lanEdge: EdgeServer;

async function startEdge(allowPrivateCandidates: boolean): Promise<EdgeServer> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const server = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      iceAllowedAddresses: ['127.0.0.1'],
      allowPrivateCandidates,
      logLevel: 'info',
      capacity: 3,
      connectTimeoutSeconds: 15,
    }),
    logger: pino({ level: 'info' }, sink),
    encoderProbe: await probeEncoders(),
    openVideoEncoder: (options) => {
      opens++;
      return H264Encoder.open(options);
    },
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  return server;
}

beforeAll(async () => {
  publicEdge = await startEdge(false);
  lanEdge = await startEdge(true);
});
afterAll(async () => {
  await publicEdge?.close();
  await lanEdge?.close();
});

/** A UDP socket on loopback that counts what reaches it: where a player would point the edge. */
async function trap(): Promise<{ socket: Socket; port: number; packets: () => number }> {
  const socket = createSocket('udp4');
  let packets = 0;
  socket.on('message', () => {
    packets++;
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, packets: () => packets };
}

/**
 * Connects a Node player to `server` whose answer names `candidate` as its only candidate: an edge that
 * takes it sends its connectivity checks there; the player's real address still shows up as a
 * peer-reflexive candidate when its own checks reach the edge.
 */
function playWithCandidate(server: EdgeServer, candidate: string): NodePlayer {
  const session = server.edge.createSession('latency-probe');
  return new NodePlayer({
    signalUrl: session.edge.signalUrl,
    token: session.token,
    answerSdp: (sdp) =>
      sdp
        .split('\r\n')
        .filter((line) => !line.startsWith('a=candidate:'))
        .map((line, i, lines) =>
          line.startsWith('a=ice-pwd:') && lines.indexOf(line) === i ? `${line}\r\na=${candidate}` : line,
        )
        .join('\r\n'),
  });
}

describe('remote ICE candidates', () => {
  it('a public edge never sends to a loopback candidate a player names (a LAN-configured edge does)', async () => {
    const lan = await trap();
    const pub = await trap();
    try {
      const candidate = (port: number) => `candidate:9 1 udp 2130706431 127.0.0.1 ${port} typ host`;
      // Configured for a LAN (tests, npm start): the named address is dialled (the trap sees STUN checks).
      const lanPlayer = playWithCandidate(lanEdge, candidate(lan.port));
      await eventually(() => lan.packets() > 0, 15_000, 'the LAN edge to dial the named candidate');
      await lanPlayer.close();
      // A public edge (the default): the named loopback address is refused. The session either streams
      // over the player's peer-reflexive address or ends unconnected; either way nothing reached the trap.
      const player = playWithCandidate(publicEdge, candidate(pub.port));
      await Promise.race([
        player.closed,
        player.waitFor(() => player.framesReceived > 10, 30_000, 'frames or the end of the session'),
      ]);
      expect(pub.packets()).toBe(0);
      await player.close();
    } finally {
      lan.socket.close();
      pub.socket.close();
    }
  });
});

describe('WHEP', () => {
  async function offer(): Promise<{ peer: RTCPeerConnection; sdp: string }> {
    const peer = new RTCPeerConnection({
      iceAdditionalHostAddresses: ['127.0.0.1'],
      bundlePolicy: 'max-bundle',
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/H264',
            clockRate: 90_000,
            parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
          }),
        ],
      },
    });
    peer.addTransceiver('video', { direction: 'recvonly' });
    await peer.setLocalDescription(await peer.createOffer());
    return { peer, sdp: peer.localDescription?.sdp ?? '' };
  }

  it('checks the offer before it opens a game or an encoder (EDGE_BAD_SDP, nothing opened)', async () => {
    const { peer, sdp } = await offer();
    try {
      const before = opens;
      for (const drop of [/^a=fingerprint:.*$/m, /^a=ice-pwd:.*$/m, /^a=rtpmap:.*H264.*$/gm]) {
        const session = publicEdge.edge.createSession('breakout');
        const res = await publicEdge.app.inject({
          method: 'POST',
          url: '/v1/whep',
          headers: { 'content-type': 'application/sdp', authorization: `Bearer ${session.token}` },
          payload: sdp.replace(drop, ''),
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().code).toBe('EDGE_BAD_SDP');
      }
      expect(opens).toBe(before);
      expect(publicEdge.edge.info().activeSessions).toBe(0);
    } finally {
      await peer.close();
    }
  });

  it('never writes the ?token= of a WHEP request to the request log', async () => {
    const session = publicEdge.edge.createSession('breakout');
    const secret = session.token.split('.')[2] as string;
    const res = await publicEdge.app.inject({
      method: 'POST',
      url: `/v1/whep?token=${encodeURIComponent(session.token)}`,
      headers: { 'content-type': 'application/sdp' },
      payload: 'v=0\r\n',
    });
    expect(res.json().code).toBe('EDGE_BAD_SDP');
    const lines = logLines.filter((line) => line.includes('/v1/whep'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => line.includes('token=[REDACTED]'))).toBe(true);
    expect(logLines.some((line) => line.includes(secret))).toBe(false);
  });
});

describe('resize', () => {
  it('a flood of resizes re-opens the encoder at most once a second; the last size wins', async () => {
    const session = lanEdge.edge.createSession('latency-probe');
    const player = new NodePlayer({ signalUrl: session.edge.signalUrl, token: session.token });
    try {
      await player.waitFor(() => player.framesReceived > 10, 20_000, 'frames');
      const before = opens;
      // Neither is the game's own 1280×720: the first is applied at once, the last (800×450) after a second.
      const sizes = [
        [480, 270],
        [800, 450],
      ] as const;
      for (let i = 0; i < 30; i++) {
        const [width, height] = sizes[i % 2] as readonly [number, number];
        player.sendSignal({ type: 'resize', width, height });
      }
      // The first re-opens at once, the latest waiting one (800×450) a second later; none of the others.
      await eventually(() => opens - before >= 2, 10_000, 'the last resize to be applied');
      const frames = player.framesReceived;
      await player.waitFor(() => player.framesReceived > frames + 40, 10_000, 'frames after the resizes');
      expect(opens - before).toBeLessThanOrEqual(3);
      expect(player.messages.some((m) => m.type === 'error')).toBe(false);
    } finally {
      await player.close();
    }
  });
});
