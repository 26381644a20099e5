import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { InputType } from '../../protocol/input.js';
import { installDirectPong } from './directPong.js';

/** SCTP payload protocol id of a binary data-channel message (RFC 8831). */
const PPID_BINARY = 53;
const SCTP_HEADER = 12;
const DATA_CHUNK = 0;
/** DATA chunk flags: B (first fragment) and E (last fragment): the whole message in one chunk. */
const WHOLE_MESSAGE = 0x03;
const DATA_HEADER = 16;
const PING_LENGTH = 13;

/**
 * Finds a ping (13 bytes, type 8) for data-channel `streamId` in one SCTP packet as werift's DTLS layer
 * hands it up (decrypted and authenticated): returns the ping's bytes (a view into `packet`), or
 * undefined. Walks every chunk, since Chromium bundles a SACK before its DATA.
 */
export function findPing(packet: Buffer, streamId: number): Buffer | undefined {
  let pos = SCTP_HEADER;
  while (pos + 4 <= packet.length) {
    const type = packet[pos];
    const length = packet.readUInt16BE(pos + 2);
    if (length < 4 || pos + length > packet.length) return undefined;
    if (
      type === DATA_CHUNK &&
      length === DATA_HEADER + PING_LENGTH &&
      ((packet[pos + 1] ?? 0) & WHOLE_MESSAGE) === WHOLE_MESSAGE &&
      packet.readUInt16BE(pos + 8) === streamId &&
      packet.readUInt32BE(pos + 12) === PPID_BINARY &&
      packet[pos + DATA_HEADER] === InputType.ping
    ) {
      return packet.subarray(pos + DATA_HEADER, pos + DATA_HEADER + PING_LENGTH);
    }
    pos += length + ((4 - (length % 4)) % 4);
  }
  return undefined;
}

/**
 * The pong fast path: answers pings as soon as werift's DTLS layer has decrypted their packet, before
 * werift's SCTP receive path (checksum, TSN bookkeeping, reassembly, its event fan-out to the data
 * channel, and a SACK bundled in front of the DATA, which werift awaits before the DATA) and before the
 * session's input handler. Beneath it, where werift's internals allow, the direct path (directPong.ts) takes
 * the channel's records off the UDP socket before werift's ICE and DTLS layers and sends the pong without
 * werift's send path. Measured on loopback with the real player page: the edge's share of the RTT
 * (datagram in → pong datagram out) 0.28 ms → 0.18 ms (edge/README.md, "Input RTT").
 *
 * It wraps `RTCDtlsTransport.dataReceiver` (werift's one hand-off from DTLS to SCTP, public in its
 * types); the packet then goes on to werift unchanged, so the ping still reaches `onMessage` (counted,
 * rate-limited) and `answered(ping)` tells the handler not to echo it a second time. If werift replaces
 * the receiver (a new DTLS transport), the fast path is simply gone and the handler echoes as before.
 * A ping over the handler's rate limit is still answered (one 13-byte pong per 13-byte ping: nothing to
 * amplify) until the handler's flood check ends the session.
 */
export function installPingFastPath(
  peer: RTCPeerConnection,
  channel: RTCDataChannel,
  sendPong: (pong: Buffer) => void,
): { answered: (ping: Buffer) => boolean; uninstall: () => void } {
  const dtls = peer.sctpTransport?.dtlsTransport;
  const streamId = channel.id;
  /** seq + t of the last ping answered here and not yet seen by the handler. */
  let lastAnswered: Buffer | undefined;
  if (!dtls || streamId === undefined) return { answered: () => false, uninstall: () => {} };
  const original = dtls.dataReceiver;
  const receiver = (packet: Buffer) => {
    const ping = findPing(packet, streamId);
    if (ping) {
      const pong = Buffer.from(ping); // a fresh buffer: werift may queue it by reference
      pong[0] = InputType.pong;
      if (!direct?.sendPong(pong)) sendPong(pong);
      lastAnswered = pong;
    }
    original(packet);
  };
  dtls.dataReceiver = receiver;
  // Beneath werift when its internals allow: records decrypted off the socket, the pong built and sent
  // directly (directPong.ts); `deliver` is werift's own DTLS → SCTP hand-off, i.e. this receiver.
  const direct = installDirectPong(peer, channel, (packet) => dtls.dataReceiver(packet));
  return {
    answered: (ping) => {
      if (lastAnswered === undefined || ping.length !== PING_LENGTH) return false;
      if (ping.compare(lastAnswered, 1, PING_LENGTH, 1, PING_LENGTH) !== 0) return false;
      lastAnswered = undefined;
      return true;
    },
    uninstall: () => {
      direct?.uninstall();
      if (dtls.dataReceiver === receiver) dtls.dataReceiver = original;
      lastAnswered = undefined;
    },
  };
}
