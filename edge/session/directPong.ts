import { createCipheriv, createDecipheriv } from 'node:crypto';
import diagnostics_channel from 'node:diagnostics_channel';
import type { RTCDataChannel, RTCPeerConnection } from 'werift';

/**
 * Published with the pong (a Buffer) each time the direct path sends one, just before it builds the packet
 * (bench/pongLegs.ts times the edge's legs from it; nothing subscribes in production, so it costs one check).
 */
export const directPongChannel = diagnostics_channel.channel('farplay:direct-pong');

const CONTENT_APPLICATION_DATA = 23;
const RECORD_HEADER = 13;
const EXPLICIT_NONCE = 8;
const AUTH_TAG = 16;
/** Longest datagram the direct path decrypts itself: input messages are tiny; anything longer goes to werift. */
const MAX_DIRECT_DATAGRAM = 256;
/** werift's SCTP_STATE.ESTABLISHED. */
const SCTP_ESTABLISHED = 4;
/** DATA chunk flags: unordered, first and last fragment. */
const UNORDERED_WHOLE = 0x07;
const PPID_BINARY = 53;

// werift 0.25 internals the direct path reads and drives (checked when installing: missing → not installed).
interface AeadCipher {
  blockAlgorithm: string;
  authTagLength: number;
  nonceImplicitLength: number;
  clientWriteKey?: Buffer;
  serverWriteKey?: Buffer;
  clientNonce?: Buffer;
  serverNonce?: Buffer;
}
interface DtlsSocketInternals {
  sessionType: number;
  cipher: { cipher?: AeadCipher };
  dtls: { epoch: number; recordSequenceNumber: number; version: { major: number; minor: number } };
}
interface UdpTransportInternals {
  onData: (data: Buffer, addr: [string, number]) => void;
  send: (data: Buffer, addr: [string, number]) => unknown;
}
interface CandidatePairInternals {
  protocol: { transport?: UdpTransportInternals };
  remoteAddr: [string, number];
  packetsReceived: number;
  bytesReceived: number;
  packetsSent: number;
  bytesSent: number;
}
interface IceConnectionInternals {
  nominated?: CandidatePairInternals;
  canSendApplicationData?: () => boolean;
}
/** A werift DataChunk as its SCTP send queue keeps it (the fields its SACK, T3 and abandon paths read). */
interface SentChunk {
  readonly type: 0;
  flags: number;
  tsn: number;
  streamId: number;
  streamSeqNum: number;
  protocol: number;
  userData: Buffer;
  abandoned: boolean;
  acked: boolean;
  misses: number;
  retransmit: boolean;
  sentCount: number;
  bookSize: number;
  expiry: number | undefined;
  maxRetransmits: number | undefined;
  sentTime: number;
  readonly bytes: Buffer;
}
interface SctpInternals {
  associationState: number;
  state: string;
  isStopped: boolean;
  transmitting: boolean;
  forwardTsnChunk?: unknown;
  outboundQueue: unknown[];
  sentQueue: SentChunk[];
  flightSize: number;
  cwnd: number;
  peerRwnd: number;
  localTsn: number;
  localPort: number;
  remotePort?: number;
  remoteVerificationTag: number;
  timer3Handle?: unknown;
  flightSizeIncrease(chunk: SentChunk): void;
  timer3Start(): void;
}

/** CRC32c (Castagnoli), byte-wise: one 1 KiB table stays in cache for a 44-byte packet (SCTP checksum). */
const CRC32C_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();
export function crc32c(data: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < data.length; i++)
    crc = (crc >>> 8) ^ (CRC32C_TABLE[(crc ^ (data[i] ?? 0)) & 0xff] ?? 0);
  return ~crc >>> 0;
}

/** One unordered DATA chunk carrying `message` (padded to 4 bytes), as werift's DataChunk.bytes writes it. */
function dataChunkBytes(tsn: number, streamId: number, message: Buffer): Buffer {
  const length = 16 + message.length;
  const chunk = Buffer.alloc(length + ((4 - (length % 4)) % 4));
  chunk[0] = 0;
  chunk[1] = UNORDERED_WHOLE;
  chunk.writeUInt16BE(length, 2);
  chunk.writeUInt32BE(tsn, 4);
  chunk.writeUInt16BE(streamId, 8);
  chunk.writeUInt16BE(0, 10); // stream sequence number: unused for unordered messages (werift sends 0)
  chunk.writeUInt32BE(PPID_BINARY, 12);
  message.copy(chunk, 16);
  return chunk;
}

/** An SCTP packet of one chunk with its CRC32c, as werift's serializePacket builds it. */
export function sctpPacket(sourcePort: number, destinationPort: number, tag: number, chunk: Buffer): Buffer {
  const packet = Buffer.alloc(12 + chunk.length);
  packet.writeUInt16BE(sourcePort, 0);
  packet.writeUInt16BE(destinationPort, 2);
  packet.writeUInt32BE(tag, 4);
  chunk.copy(packet, 12);
  packet.writeUInt32LE(crc32c(packet), 8);
  return packet;
}

/**
 * The pong's direct path, beneath werift: takes the input channel's DTLS records off the UDP socket before
 * werift's ICE and DTLS layers (one AES-GCM decrypt, no per-record objects), hands the decrypted SCTP packet to
 * werift's DTLS → SCTP receiver as werift would, and sends a pong as one SCTP packet it builds and encrypts
 * itself, registered in werift's SCTP send state exactly as werift registers a DATA chunk (next TSN, sent queue,
 * flight size, T3 timer), so SACKs, abandonment and FORWARD-TSN treat it as werift's own. Whenever werift's
 * state is not plainly idle (queued or in-flight-limited data, a transmit under way, a FORWARD-TSN due, the
 * association not established, consent lost) the pong goes through `channel.send` instead.
 * Returns undefined when werift's internals are not as expected (nothing is then wrapped).
 */
export function installDirectPong(
  peer: RTCPeerConnection,
  channel: RTCDataChannel,
  deliver: (packet: Buffer) => void,
): { sendPong: (pong: Buffer) => boolean; uninstall: () => void } | undefined {
  const sctpTransport = peer.sctpTransport as unknown as
    | { sctp?: SctpInternals; dataChannelQueue?: unknown[] }
    | undefined;
  const sctp = sctpTransport?.sctp;
  const dtlsTransport = peer.sctpTransport?.dtlsTransport;
  const socket = (dtlsTransport as unknown as { dtls?: DtlsSocketInternals } | undefined)?.dtls;
  const ice = (dtlsTransport?.iceTransport as unknown as { connection?: IceConnectionInternals } | undefined)
    ?.connection;
  const pair = ice?.nominated;
  const udp = pair?.protocol.transport;
  const cipher = socket?.cipher.cipher;
  const streamId = channel.id;
  if (!sctp || !sctpTransport?.dataChannelQueue || !socket || !ice || !pair || !udp || !cipher)
    return undefined;
  if (streamId === undefined || channel.ordered || !/^aes-(128|256)-gcm$/.test(cipher.blockAlgorithm)) {
    return undefined;
  }
  if (typeof udp.onData !== 'function' || typeof sctp.flightSizeIncrease !== 'function') return undefined;
  const isClient = socket.sessionType === 1; // werift SessionType.CLIENT
  const writeKey = isClient ? cipher.clientWriteKey : cipher.serverWriteKey;
  const writeSalt = isClient ? cipher.clientNonce : cipher.serverNonce;
  const readKey = isClient ? cipher.serverWriteKey : cipher.clientWriteKey;
  const readSalt = isClient ? cipher.serverNonce : cipher.clientNonce;
  if (!writeKey || !writeSalt || !readKey || !readSalt || cipher.authTagLength !== AUTH_TAG) return undefined;
  const implicit = cipher.nonceImplicitLength;
  const algorithm = cipher.blockAlgorithm as 'aes-128-gcm';
  const readNonce = Buffer.alloc(implicit + EXPLICIT_NONCE);
  readSalt.copy(readNonce, 0, 0, implicit);
  const writeNonce = Buffer.alloc(implicit + EXPLICIT_NONCE);
  writeSalt.copy(writeNonce, 0, 0, implicit);
  const aad = Buffer.alloc(13);
  const maxRetransmits =
    (channel as unknown as { maxRetransmits?: number | null }).maxRetransmits ?? undefined;

  /** The plaintext of a datagram that is exactly one authenticated application-data record, else undefined. */
  const decrypt = (datagram: Buffer): Buffer | undefined => {
    const length = datagram.readUInt16BE(11);
    if (RECORD_HEADER + length !== datagram.length || length < EXPLICIT_NONCE + AUTH_TAG) return undefined;
    const ciphertextLength = length - EXPLICIT_NONCE - AUTH_TAG;
    datagram.copy(readNonce, implicit, RECORD_HEADER, RECORD_HEADER + EXPLICIT_NONCE);
    datagram.copy(aad, 0, 3, 11); // epoch + sequence number
    aad[8] = CONTENT_APPLICATION_DATA;
    aad[9] = datagram[1] ?? 0;
    aad[10] = datagram[2] ?? 0;
    aad.writeUInt16BE(ciphertextLength, 11);
    try {
      const decipher = createDecipheriv(algorithm, readKey, readNonce, { authTagLength: AUTH_TAG });
      decipher.setAuthTag(datagram.subarray(datagram.length - AUTH_TAG));
      decipher.setAAD(aad, { plaintextLength: ciphertextLength });
      const start = RECORD_HEADER + EXPLICIT_NONCE;
      const plain = decipher.update(datagram.subarray(start, start + ciphertextLength));
      decipher.final();
      return plain;
    } catch {
      return undefined; // not authentic: werift gets the datagram and drops it as before
    }
  };

  const originalOnData = udp.onData;
  const onData = (data: Buffer, addr: [string, number]) => {
    if (
      data.length <= MAX_DIRECT_DATAGRAM &&
      data[0] === CONTENT_APPLICATION_DATA &&
      ice.nominated === pair &&
      socket.cipher.cipher === cipher
    ) {
      const plain = decrypt(data);
      if (plain) {
        // What werift's ICE layer counts for the nominated pair before its DTLS layer decrypts.
        pair.packetsReceived++;
        pair.bytesReceived += data.length;
        deliver(plain);
        return;
      }
    }
    originalOnData(data, addr);
  };
  udp.onData = onData;

  const sendPong = (pong: Buffer): boolean => {
    if (
      sctp.associationState !== SCTP_ESTABLISHED ||
      sctp.state === 'closed' ||
      sctp.isStopped ||
      sctp.transmitting ||
      sctp.forwardTsnChunk ||
      sctp.outboundQueue.length > 0 ||
      (sctpTransport.dataChannelQueue?.length ?? 0) > 0 ||
      sctp.flightSize >= sctp.cwnd ||
      sctp.peerRwnd <= 0 ||
      sctp.remotePort === undefined ||
      ice.nominated !== pair ||
      socket.cipher.cipher !== cipher ||
      ice.canSendApplicationData?.() === false ||
      channel.readyState !== 'open'
    ) {
      return false;
    }
    if (directPongChannel.hasSubscribers) directPongChannel.publish(pong);
    const tsn = sctp.localTsn;
    const chunkBytes = dataChunkBytes(tsn, streamId, pong);
    const packet = sctpPacket(sctp.localPort, sctp.remotePort, sctp.remoteVerificationTag, chunkBytes);
    const sequence = ++socket.dtls.recordSequenceNumber;
    const epoch = socket.dtls.epoch;
    const { major, minor } = socket.dtls.version;
    const record = Buffer.alloc(RECORD_HEADER + EXPLICIT_NONCE + packet.length + AUTH_TAG);
    record[0] = CONTENT_APPLICATION_DATA;
    record[1] = major;
    record[2] = minor;
    record.writeUInt16BE(epoch, 3);
    record.writeUIntBE(sequence, 5, 6);
    record.writeUInt16BE(EXPLICIT_NONCE + packet.length + AUTH_TAG, 11);
    record.copy(writeNonce, implicit, 3, 11); // explicit nonce = epoch + sequence number, as werift's
    record.copy(record, RECORD_HEADER, 3, 11);
    const writeAad = Buffer.alloc(13);
    record.copy(writeAad, 0, 3, 11);
    writeAad[8] = CONTENT_APPLICATION_DATA;
    writeAad[9] = major;
    writeAad[10] = minor;
    writeAad.writeUInt16BE(packet.length, 11);
    const encrypt = createCipheriv(algorithm, writeKey, writeNonce, { authTagLength: AUTH_TAG });
    encrypt.setAAD(writeAad, { plaintextLength: packet.length });
    const sealed = encrypt.update(packet);
    encrypt.final();
    sealed.copy(record, RECORD_HEADER + EXPLICIT_NONCE);
    encrypt.getAuthTag().copy(record, RECORD_HEADER + EXPLICIT_NONCE + packet.length);
    udp.send(record, pair.remoteAddr);
    // werift's bookkeeping for a sent DATA chunk (sctp.send + transmitOnce), after the datagram is out.
    sctp.localTsn = (tsn + 1) >>> 0;
    const chunk: SentChunk = {
      type: 0,
      flags: UNORDERED_WHOLE,
      tsn,
      streamId,
      streamSeqNum: 0,
      protocol: PPID_BINARY,
      userData: pong,
      abandoned: false,
      acked: false,
      misses: 0,
      retransmit: false,
      sentCount: 1,
      bookSize: pong.length,
      expiry: undefined,
      maxRetransmits,
      sentTime: Date.now() / 1000,
      bytes: chunkBytes,
    };
    sctp.sentQueue.push(chunk);
    sctp.flightSizeIncrease(chunk);
    if (!sctp.timer3Handle) sctp.timer3Start();
    pair.packetsSent++;
    pair.bytesSent += record.length;
    const counters = channel as unknown as { messagesSent: number; bytesSent: number };
    counters.messagesSent++;
    counters.bytesSent += pong.length;
    return true;
  };

  return {
    sendPong,
    uninstall: () => {
      if (udp.onData === onData) udp.onData = originalOnData;
    },
  };
}
