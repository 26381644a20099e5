import dgram from 'node:dgram';
import { RTCDataChannel } from 'werift';
import { directPongChannel } from '../edge/session/directPong.js';
import { InputType } from '../protocol/input.js';

/** One pong's times, ms: edge timestamps are Unix ms (high resolution), `pageT` the page's ping `t`. */
interface PongTimes {
  pageT: number;
  /** The last UDP datagram that reached an edge socket before the pong was sent: the ping's own (see below). */
  udpInMs: number;
  /** The edge's `RTCDataChannel.send(pong)`, or the direct path's start of building the pong. */
  sendMs: number;
  /** The first UDP send on an edge socket after it: the pong's datagram leaving werift. */
  udpOutMs: number;
}

/** The legs of the pongs since the last take, each a list (one value per pong, ms). */
export interface PongLegs {
  /** Page's ping `t` → the edge's `send(pong)` (Chromium's send hops, UDP, the edge's receive path). */
  pageToEdge: number[];
  /** Page's ping `t` → the ping's datagram at the edge's socket (Chromium's send hops and UDP only). */
  pageToEdgeUdp: number[];
  /** The ping's datagram in → `send(pong)`: werift's ICE → DTLS → SCTP → data channel → our handler. */
  edgeReceive: number[];
  /** `send(pong)` → the pong's datagram handed to the socket: werift's SCTP → DTLS → `socket.send`. */
  edgeSend: number[];
  /** Page's ping `t` → the pong's datagram out: all but the return trip (RTT − this = UDP and Chromium's receive hops). */
  pageToEdgeOut: number[];
}

const now = () => performance.timeOrigin + performance.now();

/**
 * Splits the data-channel input RTT for `bench:stream` and `bench:input-rtt` (edge in this process, Chromium on
 * the same machine, one system clock): wraps werift's `RTCDataChannel.send` to note, for every pong the edge
 * sends, its send time and the page's ping time `t` it echoes (the page's `performance.now()`); with the page's
 * `performance.timeOrigin`, page → edge = edge send − (origin + t). It also wraps Node's UDP sockets: the
 * arrival time of every datagram (werift handles a datagram synchronously from the socket's `message` event to
 * our data-channel listener, so the last arrival before a pong is the ping's), and the first send after a pong
 * (the pong's datagram; werift encrypts and sends in the same call). `stop()` restores all three.
 */
export function recordPongLegs(): { take: (pageTimeOrigin: number) => PongLegs; stop: () => void } {
  const originalSend = RTCDataChannel.prototype.send;
  const originalEmit = dgram.Socket.prototype.emit;
  const originalUdpSend = dgram.Socket.prototype.send;
  let pongs: PongTimes[] = [];
  let lastUdpIn = 0;
  let awaitingOut: PongTimes | undefined;
  dgram.Socket.prototype.emit = function emit(
    this: dgram.Socket,
    event: string | symbol,
    ...args: unknown[]
  ) {
    if (event === 'message') lastUdpIn = now();
    return (originalEmit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof dgram.Socket.prototype.emit;
  dgram.Socket.prototype.send = function send(this: dgram.Socket, ...args: unknown[]) {
    if (awaitingOut) {
      awaitingOut.udpOutMs = now();
      awaitingOut = undefined;
    }
    return (originalUdpSend as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.send;
  const notePong = (data: Buffer | string) => {
    if (typeof data !== 'string' && data.length === 13 && data[0] === InputType.pong) {
      const pong = { pageT: data.readDoubleLE(5), udpInMs: lastUdpIn, sendMs: now(), udpOutMs: Number.NaN };
      pongs.push(pong);
      awaitingOut = pong;
    }
  };
  // The pong fast path's direct send (edge/session/directPong.ts) bypasses RTCDataChannel.send and says so here.
  const onDirectPong = (pong: unknown) => notePong(pong as Buffer);
  directPongChannel.subscribe(onDirectPong);
  RTCDataChannel.prototype.send = function send(this: RTCDataChannel, data: Buffer | string) {
    notePong(data);
    return originalSend.call(this, data);
  };
  return {
    take: (pageTimeOrigin) => {
      const taken = pongs;
      pongs = [];
      const sent = taken.filter((pong) => Number.isFinite(pong.udpOutMs));
      const at = (ms: number, pong: PongTimes) => ms - (pageTimeOrigin + pong.pageT);
      return {
        pageToEdge: taken.map((pong) => at(pong.sendMs, pong)),
        pageToEdgeUdp: taken.map((pong) => at(pong.udpInMs, pong)),
        edgeReceive: taken.map((pong) => pong.sendMs - pong.udpInMs),
        edgeSend: sent.map((pong) => pong.udpOutMs - pong.sendMs),
        pageToEdgeOut: sent.map((pong) => at(pong.udpOutMs, pong)),
      };
    },
    stop: () => {
      directPongChannel.unsubscribe(onDirectPong);
      RTCDataChannel.prototype.send = originalSend;
      dgram.Socket.prototype.emit = originalEmit;
      dgram.Socket.prototype.send = originalUdpSend;
    },
  };
}
