import { RTCDataChannel } from 'werift';
import { InputType } from '../protocol/input.js';

/**
 * Splits the data-channel input RTT in two for `bench:stream` (edge in this process, Chromium on the same
 * machine, one system clock): wraps werift's `RTCDataChannel.send` to note, for every pong the edge sends,
 * its send time (Unix ms, high resolution) and the page's ping time `t` it echoes (the page's
 * `performance.now()`). With the page's `performance.timeOrigin`, page → edge = edge send − (origin + t).
 * `stop()` restores `send`.
 */
export function recordPongLegs(): { takePageToEdge: (pageTimeOrigin: number) => number[]; stop: () => void } {
  const original = RTCDataChannel.prototype.send;
  let pongs: Array<{ edgeMs: number; pageT: number }> = [];
  RTCDataChannel.prototype.send = function send(this: RTCDataChannel, data: Buffer | string) {
    if (typeof data !== 'string' && data.length === 13 && data[0] === InputType.pong) {
      pongs.push({ edgeMs: performance.timeOrigin + performance.now(), pageT: data.readDoubleLE(5) });
    }
    return original.call(this, data);
  };
  return {
    takePageToEdge: (pageTimeOrigin) => {
      const legs = pongs.map((pong) => pong.edgeMs - (pageTimeOrigin + pong.pageT));
      pongs = [];
      return legs;
    },
    stop: () => {
      RTCDataChannel.prototype.send = original;
    },
  };
}
