import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { INPUT_CHANNEL } from '../../protocol/input.js';
import { installPingFastPath } from './pingFastPath.js';

/**
 * Where input messages from the player come from and pongs go back to. The design card names
 * geckos.io (UDP data channels through node-datachannel); it does not install here (node-datachannel
 * fetches libdatachannel from GitHub at build time), so the one implementation today is a werift data
 * channel on the session's own peer connection. Another transport only has to implement this.
 */
export interface InputTransport {
  /** Registers the one listener for binary messages (text messages arrive as strings: the session rejects them). */
  onMessage(listener: (data: Buffer | string) => void): void;
  /** Sends one message back (best effort, unreliable). */
  send(data: Buffer): void;
  /**
   * Whether this ping (13 bytes, type 8, delivered through `onMessage`) was already answered with its pong
   * by the transport itself; the handler then does not echo it again. Optional: a transport without a
   * fast path leaves pings to the handler.
   */
  answered?(ping: Buffer): boolean;
  readonly open: boolean;
  close(): void;
}

/**
 * The negotiated, unordered, no-retransmit `input` data channel on `peer` (protocol/input.ts).
 *
 * werift 0.25 treats `maxRetransmits: 0` as reliable on its sending side (its SCTP abandons a chunk only
 * when `!!maxRetransmits && maxRetransmits < sentCount`, and 0 is falsy), so our pongs would be
 * retransmitted. The channel's local parameter is therefore nudged to the smallest positive number,
 * which makes werift abandon a chunk at its first retransmission: in effect 0 retransmits. Nothing
 * of this is on the wire (the channel is negotiated: no DCEP open message carries it).
 */
export function createInputChannel(peer: RTCPeerConnection): InputTransport {
  const channel: RTCDataChannel = peer.createDataChannel(INPUT_CHANNEL.label, { ...INPUT_CHANNEL.init });
  const parameters = (channel as unknown as { parameters?: { maxRetransmits?: number } }).parameters;
  if (parameters && parameters.maxRetransmits === 0) parameters.maxRetransmits = Number.MIN_VALUE;
  let listener: ((data: Buffer | string) => void) | undefined;
  const subscription = channel.onMessage.subscribe((data) => listener?.(data));
  let closed = false;
  const send = (data: Buffer) => {
    if (closed || channel.readyState !== 'open') return;
    try {
      channel.send(data);
    } catch {
      // A pong that cannot go out is a lost pong: the channel is unreliable by design.
    }
  };
  // Pings are answered from werift's DTLS → SCTP hand-off once the channel is open (pingFastPath.ts).
  let fastPath: ReturnType<typeof installPingFastPath> | undefined;
  const opened = channel.stateChanged.subscribe((state) => {
    if (state !== 'open' || fastPath || closed) return;
    fastPath = installPingFastPath(peer, channel, send);
  });
  return {
    onMessage(next) {
      listener = next;
    },
    send,
    answered: (ping) => fastPath?.answered(ping) ?? false,
    get open() {
      return !closed && channel.readyState === 'open';
    },
    close() {
      if (closed) return;
      closed = true;
      listener = undefined;
      subscription.unSubscribe();
      opened.unSubscribe();
      fastPath?.uninstall();
      try {
        channel.close();
      } catch {
        // already closing with the peer
      }
    },
  };
}
