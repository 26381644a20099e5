import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '../../edge/Edge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import {
  generateSessionKeyPair,
  importSessionPrivateKey,
  signSessionToken,
} from '../../protocol/sessionToken.js';
import { SignalCloseCodes } from '../../protocol/signaling.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { connectPlayer, eventually, startTestEdge, timers, udpSockets } from './edge-support.js';

let server: EdgeServer;
let edge: Edge;
let good: NodePlayer;

/** The good session must keep getting new frames while a bad one is thrown out. */
async function goodStillStreams(): Promise<void> {
  const before = good.framesReceived;
  await good.waitFor(() => good.framesReceived > before + 10, 5_000, 'the good session to keep streaming');
  expect(good.messages.some((message) => message.type === 'error' || message.type === 'ended')).toBe(false);
}

async function expectClosed(player: NodePlayer, code: number, errorCode: string): Promise<void> {
  const closed = await player.closed;
  expect(closed.code).toBe(code);
  expect(player.messages).toContainEqual(expect.objectContaining({ type: 'error', code: errorCode }));
  await player.close();
  await eventually(() => edge.info().activeSessions === 1, 5_000, 'the bad session to be gone');
  await goodStillStreams();
}

beforeAll(async () => {
  server = await startTestEdge({
    capacity: 3,
    maxInputMessagesPerSecond: 100,
    maxSignalMessagesPerSecond: 30,
  });
  edge = server.edge;
  good = connectPlayer(edge);
  await good.waitFor(() => good.framesReceived > 5, 20_000, 'the good session');
});

afterAll(async () => {
  await good?.close();
  await server?.close();
});

describe('one bad session never hurts another', () => {
  it('garbage SDP answer → 4400 EDGE_BAD_SDP', async () => {
    const bad = connectPlayer(edge);
    // Answer with garbage as soon as the offer arrives (before the player's own answer).
    bad.socket.on('message', (data) => {
      if (data.toString().includes('"offer"'))
        bad.socket.send(JSON.stringify({ type: 'answer', sdp: 'v=0\r\ngarbage' }));
    });
    await expectClosed(bad, SignalCloseCodes.BAD_MESSAGE, 'EDGE_BAD_SDP');
  });

  it('malformed JSON, unknown message types and binary frames → 4400 EDGE_BAD_MESSAGE', async () => {
    for (const payload of [
      '{not json',
      JSON.stringify({ type: 'launch-missiles' }),
      JSON.stringify({ type: 'bitrate', kbps: 'x' }),
    ]) {
      const bad = connectPlayer(edge);
      bad.socket.once('open', () => bad.socket.send(payload));
      await expectClosed(bad, SignalCloseCodes.BAD_MESSAGE, 'EDGE_BAD_MESSAGE');
    }
    const binary = connectPlayer(edge);
    binary.socket.once('open', () => binary.socket.send(randomBytes(200)));
    await expectClosed(binary, SignalCloseCodes.BAD_MESSAGE, 'EDGE_BAD_MESSAGE');
  });

  it('a resize beyond the edge picture limit (8K) → 4400 EDGE_BAD_MESSAGE', async () => {
    const bad = connectPlayer(edge);
    bad.socket.once('open', () =>
      bad.socket.send(JSON.stringify({ type: 'resize', width: 7680, height: 4320 })),
    );
    await expectClosed(bad, SignalCloseCodes.BAD_MESSAGE, 'EDGE_BAD_MESSAGE');
  });

  it('oversized signalling message → 4413', async () => {
    const bad = connectPlayer(edge);
    bad.socket.once('open', () =>
      bad.socket.send(JSON.stringify({ type: 'ping', t: 1, pad: 'x'.repeat(70_000) })),
    );
    await expectClosed(bad, SignalCloseCodes.TOO_LARGE, 'EDGE_MESSAGE_TOO_LARGE');
  });

  it('signalling flood → 4429', async () => {
    const bad = connectPlayer(edge);
    bad.socket.once('open', () => {
      for (let i = 0; i < 200; i++) bad.socket.send(JSON.stringify({ type: 'ping', t: i }));
    });
    await expectClosed(bad, SignalCloseCodes.FLOOD, 'EDGE_FLOOD');
  });

  it('random bytes on the input data channel → 4400 EDGE_BAD_INPUT', async () => {
    const bad = connectPlayer(edge);
    await bad.inputOpen;
    for (let i = 0; i < 50; i++) bad.sendRaw(randomBytes(1 + (i % 30)));
    bad.sendRaw('text is not input');
    await expectClosed(bad, SignalCloseCodes.BAD_MESSAGE, 'EDGE_BAD_INPUT');
  });

  it('input flood → 4429 EDGE_FLOOD', async () => {
    const bad = connectPlayer(edge);
    await bad.inputOpen;
    for (let i = 0; i < 400; i++) bad.sendInput({ type: 'mouseMove', dx: 1, dy: 1, x: 0.5, y: 0.5 });
    await expectClosed(bad, SignalCloseCodes.FLOOD, 'EDGE_FLOOD');
  });
});

describe('admission', () => {
  it('refuses missing, forged, foreign and expired tokens with 4401', async () => {
    const signalUrl = `${edge.url?.replace('http', 'ws')}/v1/signal`;
    const forgedKey = importSessionPrivateKey(generateSessionKeyPair().privateKey);
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string]> = [
      ['', 'EDGE_BAD_TOKEN'],
      ['v1.garbage.garbage', 'EDGE_BAD_TOKEN'],
      [
        signSessionToken(
          { sid: 'x', gameId: 'breakout', edgeId: edge.id, iat: now, exp: now + 60 },
          forgedKey,
        ),
        'EDGE_BAD_TOKEN',
      ],
    ];
    for (const [token, code] of cases) {
      const player = new NodePlayer({ signalUrl, token });
      expect((await player.closed).code).toBe(SignalCloseCodes.BAD_TOKEN);
      expect(player.messages).toContainEqual(expect.objectContaining({ type: 'error', code }));
      await player.close();
    }
    // A real token replayed while its session is live.
    const session = edge.createSession('latency-probe');
    const first = new NodePlayer({ signalUrl, token: session.token });
    await first.waitFor(() => first.session !== undefined, 10_000, 'first session');
    const second = new NodePlayer({ signalUrl, token: session.token });
    expect((await second.closed).code).toBe(SignalCloseCodes.SESSION_IN_USE);
    await second.close();
    await first.close();
    await eventually(() => edge.info().activeSessions === 1, 5_000, 'slot freed');
  });

  it('a token works once: reused right after its session ended → 4410 EDGE_TOKEN_USED, no second session', async () => {
    const signalUrl = `${edge.url?.replace('http', 'ws')}/v1/signal`;
    const session = edge.createSession('latency-probe');
    const first = new NodePlayer({ signalUrl, token: session.token });
    await first.waitFor(() => first.framesReceived > 3, 15_000, 'the first session to stream');
    first.sendSignal({ type: 'end' });
    expect((await first.closed).code).toBe(SignalCloseCodes.ENDED);
    await first.close();
    await eventually(() => edge.info().activeSessions === 1, 5_000, 'the ended session to be gone');
    // The same token, still within its lifetime, a moment after the end: refused, nothing opens.
    for (let i = 0; i < 3; i++) {
      const again = new NodePlayer({ signalUrl, token: session.token });
      expect((await again.closed).code).toBe(SignalCloseCodes.TOKEN_USED);
      expect(again.messages).toContainEqual(
        expect.objectContaining({ type: 'error', code: 'EDGE_TOKEN_USED' }),
      );
      expect(again.session).toBeUndefined();
      await again.close();
    }
    expect(edge.info().activeSessions).toBe(1);
    await goodStillStreams();
  });

  it('refuses a session over capacity with 4409 EDGE_FULL (and HTTP 503)', async () => {
    const second = connectPlayer(edge);
    const third = connectPlayer(edge);
    await second.waitFor(() => second.session !== undefined, 10_000, 'second session');
    await third.waitFor(() => third.session !== undefined, 10_000, 'third session');
    expect(edge.info()).toMatchObject({ activeSessions: 3, freeSlots: 0 });
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: { gameId: 'breakout', measurements: [] },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'EDGE_FULL' });
    // A token minted while a slot was free (by a matchmaker, say) then meets a full edge.
    await second.close();
    await eventually(() => edge.info().activeSessions === 2, 5_000, 'slot freed');
    const extra = edge.createSession('latency-probe');
    const fourth = connectPlayer(edge);
    await fourth.waitFor(() => fourth.session !== undefined, 10_000, 'fourth session');
    const overflow = new NodePlayer({ signalUrl: extra.edge.signalUrl, token: extra.token });
    expect((await overflow.closed).code).toBe(SignalCloseCodes.EDGE_FULL);
    expect(overflow.messages).toContainEqual(expect.objectContaining({ type: 'error', code: 'EDGE_FULL' }));
    await overflow.close();
    await fourth.close();
    await third.close();
    await eventually(() => edge.info().activeSessions === 1, 5_000, 'slots freed');
    await goodStillStreams();
  });
});

describe('teardown', () => {
  it('closing the WebSocket (tab closed) frees the slot and every socket and timer', async () => {
    const otherServer = await startTestEdge({ capacity: 1 });
    const other = otherServer.edge;
    const baseline = udpSockets();
    const baselineTimers = timers();
    const ended: string[] = [];
    other.on('sessionEnded', ({ reason }) => ended.push(reason));
    const player = connectPlayer(other, 'breakout');
    await player.waitFor(() => player.framesReceived > 10, 15_000, 'frames');
    expect(other.info()).toMatchObject({ activeSessions: 1, freeSlots: 0 });
    // The tab goes away: the socket closes without an `end` message, and its peer vanishes.
    player.socket.terminate();
    await player.peer.close();
    await eventually(() => other.info().activeSessions === 0, 5_000, 'slot freed');
    expect(ended).toEqual(['signalling socket closed']);
    await eventually(() => udpSockets() === baseline, 5_000, 'ICE sockets closed');
    await eventually(() => timers() <= baselineTimers, 5_000, 'session timers cleared');
    // The slot is really free: a new session streams.
    const next = connectPlayer(other, 'breakout');
    await next.waitFor(() => next.framesReceived > 5, 15_000, 'frames of the next session');
    await next.close();
    await otherServer.close();
    await otherServer.close(); // idempotent
    expect(other.closed).toBe(true);
  });
});
