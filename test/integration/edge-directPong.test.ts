import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { directPongChannel } from '../../edge/session/directPong.js';
import { createInputChannel, type InputTransport } from '../../edge/session/InputChannel.js';
import { InputType } from '../../protocol/input.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { runInPage, until } from '../support/playerPage.js';

// The pong's direct path (edge/session/directPong.ts) with real werift and real Chromium: pings mixed into
// ordinary input (some spaced out, some in one burst so werift's own send path is busy) are all answered with
// the right pong, the ordinary input reaches the edge complete and in order, and messages werift itself sends
// on the same channel afterwards still arrive (the direct pongs took their TSNs without breaking SCTP's state).

interface SctpState {
  sctp: { sentQueue: unknown[]; flightSize: number };
}

/** The page: offers the input channel, then sends 300 13-byte messages, every 5th a ping, and records replies. */
const pageSource = `async () => {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const channel = pc.createDataChannel('input', { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 });
  channel.binaryType = 'arraybuffer';
  const pongs = [];
  const fromEdge = [];
  channel.onmessage = (event) => {
    const view = new DataView(event.data);
    if (view.getUint8(0) === 9) pongs.push([view.getUint32(1, true), view.getFloat64(5, true)]);
    else fromEdge.push(view.getUint32(1, true));
  };
  const message = (type, seq, t) => {
    const bytes = new Uint8Array(13);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, type);
    view.setUint32(1, seq, true);
    view.setFloat64(5, t, true);
    return bytes;
  };
  const sent = [];
  window.__test = {
    pongs,
    fromEdge,
    sent,
    done: false,
    open: () => channel.readyState === 'open',
    run: async () => {
      for (let seq = 0; seq < 300; seq++) {
        const ping = seq % 5 === 0;
        const t = ping ? 1000 + seq / 4 : 0;
        channel.send(message(ping ? 8 : 3, seq, t));
        if (ping) sent.push([seq, t]);
        // 200-239 in one task: the channel's own send path has data in flight while pings arrive.
        if (seq < 200 || seq >= 240) await new Promise((resolve) => setTimeout(resolve, 3));
      }
      window.__test.done = true;
    },
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  const answer = await window.__answer(pc.localDescription.sdp);
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
}`;

let chromium: LaunchedChromium | undefined;
let peer: RTCPeerConnection | undefined;
let input: InputTransport | undefined;
beforeAll(async () => {
  chromium = await launchChromium();
});
afterAll(async () => {
  input?.close();
  await peer?.close();
  await chromium?.close();
});

describe('the pong direct path beneath werift', () => {
  it('answers every ping correctly while ordinary input arrives complete and in order', async () => {
    if (!chromium) throw new Error('no Chromium');
    const page = await chromium.context.newPage();
    await page.goto('about:blank');
    const received: number[] = [];
    const pingsSeen: number[] = [];
    let direct = 0;
    const countDirect = () => {
      direct++;
    };
    directPongChannel.subscribe(countDirect);
    await page.exposeFunction('__answer', async (offer: string) => {
      peer = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      const channel = createInputChannel(peer);
      input = channel;
      channel.onMessage((data) => {
        if (typeof data === 'string') return;
        const seq = data.readUInt32LE(1);
        if (data[0] === InputType.ping) {
          pingsSeen.push(seq);
          if (channel.answered?.(data)) return;
          const pong = Buffer.from(data);
          pong[0] = InputType.pong;
          channel.send(pong);
          return;
        }
        received.push(seq);
        // Every 10th ordinary message the edge sends one of its own through werift's send path.
        if (received.length % 10 === 0) {
          const own = Buffer.alloc(13);
          own[0] = 200;
          own.writeUInt32LE(received.length, 1);
          channel.send(own);
        }
      });
      await peer.setRemoteDescription({ type: 'offer', sdp: offer });
      await peer.setLocalDescription(await peer.createAnswer());
      return peer.localDescription?.sdp ?? '';
    });
    try {
      await runInPage(page, pageSource);
      await until(
        () => runInPage<boolean>(page, '() => window.__test.open()'),
        (open) => open,
        { timeoutMs: 30_000, what: 'the input channel' },
      );
      await runInPage(page, '() => window.__test.run()');
      const expectedOrdinary = Array.from({ length: 300 }, (_, seq) => seq).filter((seq) => seq % 5 !== 0);
      await until(
        () =>
          runInPage<{ pongs: number; fromEdge: number }>(
            page,
            '() => ({ pongs: window.__test.pongs.length, fromEdge: window.__test.fromEdge.length })',
          ),
        (counts) => counts.pongs >= 60 && counts.fromEdge >= 24 && received.length >= expectedOrdinary.length,
        { timeoutMs: 20_000, what: 'all pongs and messages' },
      );
      const { pongs, sent, fromEdge } = await runInPage<{
        pongs: Array<[number, number]>;
        sent: Array<[number, number]>;
        fromEdge: number[];
      }>(page, '() => window.__test');
      // Every ping answered once, carrying its own seq and time back.
      expect([...pongs].sort((a, b) => a[0] - b[0])).toEqual(sent);
      expect(pingsSeen).toHaveLength(60);
      // Ordinary input complete and in the order sent (loopback: unordered delivery keeps it).
      expect(received).toEqual(expectedOrdinary);
      // werift's own messages after direct pongs still arrive: SCTP's TSN sequence is intact.
      expect([...fromEdge].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => (i + 1) * 10));
      // The direct path really answered (not only werift's send path).
      expect(direct).toBeGreaterThan(30);
      // Chromium acknowledged every chunk, direct or not: nothing left in flight.
      if (!peer) throw new Error('no edge peer');
      const sctp = (peer.sctpTransport as unknown as SctpState).sctp;
      await until(
        () => Promise.resolve(sctp.sentQueue.length + sctp.flightSize),
        (left) => left === 0,
        { timeoutMs: 10_000, what: 'every chunk acknowledged' },
      );
    } finally {
      directPongChannel.unsubscribe(countDirect);
      await page.close();
    }
  });
});
