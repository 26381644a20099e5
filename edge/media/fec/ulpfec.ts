/**
 * ULPFEC (RFC 5109) for one stream: XOR parity over groups of its media packets, as libwebrtc's
 * receiver (`UlpfecReceiver`, `ForwardErrorCorrection`) reads it when it comes in RED (RFC 2198).
 *
 * A media packet is given as its wire image: the 12-byte RTP header, then everything the receiver gets
 * after it (CSRCs, header extensions, payload) exactly as sent, without RED's one-byte header.
 */

/** FEC header (10 bytes) + level-0 header with a 16-bit mask (4 bytes). */
const SHORT_HEADER_BYTES = 14;
/** … with the 48-bit mask (L = 1): 8-byte level header. */
const LONG_HEADER_BYTES = 18;
/** Most media packets one FEC packet covers (the 48-bit mask). */
export const MAX_PROTECTED_PACKETS = 48;
const RTP_HEADER_BYTES = 12;
/** Fewest media packets one FEC packet covers (25 % overhead at most). */
export const MIN_GROUP = 4;

/**
 * The FEC payload (RED header not included) protecting `media[i]` for each i in `protect`: the XOR of
 * their header fields (P, X, CC, M, PT, timestamp), lengths after the 12-byte header, and of those bytes
 * themselves (zero-padded to the longest), with a mask relative to `seqBase`. `seqs[i]` is the
 * sequence number `media[i]` is sent with; every protected one lies within 48 of `seqBase`.
 */
export function ulpfecPayload(
  media: readonly Buffer[],
  seqs: readonly number[],
  protect: readonly number[],
  seqBase: number,
): Buffer {
  let longest = 0;
  let maxOffset = 0;
  for (const index of protect) {
    const packet = media[index] as Buffer;
    longest = Math.max(longest, packet.length - RTP_HEADER_BYTES);
    const offset = ((seqs[index] as number) - seqBase) & 0xffff;
    if (offset >= MAX_PROTECTED_PACKETS) throw new RangeError('a protected packet lies too far from seqBase');
    maxOffset = Math.max(maxOffset, offset);
  }
  const long = maxOffset >= 16;
  const headerBytes = long ? LONG_HEADER_BYTES : SHORT_HEADER_BYTES;
  const fec = Buffer.alloc(headerBytes + longest);
  let lengthRecovery = 0;
  let mask = 0n;
  for (const index of protect) {
    const packet = media[index] as Buffer;
    fec[0] = (fec[0] as number) ^ (packet[0] as number);
    fec[1] = (fec[1] as number) ^ (packet[1] as number);
    for (let b = 4; b < 8; b++) fec[b] = (fec[b] as number) ^ (packet[b] as number);
    lengthRecovery ^= packet.length - RTP_HEADER_BYTES;
    for (let b = RTP_HEADER_BYTES; b < packet.length; b++) {
      const at = headerBytes + b - RTP_HEADER_BYTES;
      fec[at] = (fec[at] as number) ^ (packet[b] as number);
    }
    const offset = ((seqs[index] as number) - seqBase) & 0xffff;
    mask |= 1n << BigInt((long ? 47 : 15) - offset);
  }
  // E = 0, L, then the XOR of P, X, CC (the version bits are dropped).
  fec[0] = ((fec[0] as number) & 0x3f) | (long ? 0x40 : 0);
  fec.writeUInt16BE(seqBase & 0xffff, 2);
  fec.writeUInt16BE(lengthRecovery, 8);
  fec.writeUInt16BE(longest, 10);
  if (long) {
    fec.writeUInt32BE(Number(mask >> 16n), 12);
    fec.writeUInt16BE(Number(mask & 0xffffn), 16);
  } else {
    fec.writeUInt16BE(Number(mask), 12);
  }
  return fec;
}

/**
 * How many FEC packets to add to a frame of `mediaPackets` at a loss fraction `loss` (0-1): none
 * below 0.5 % loss; otherwise enough interleaved groups (see `interleavedGroups`) that the share of
 * frames left with an unrecoverable group — about n·(m + 1)·p²/2 for groups of m media packets — stays
 * under `targetFrameLoss`, at least one and at most one FEC packet per `MIN_GROUP` media packets (more
 * parity makes keyframes bursts the pacer and the NACK budget then struggle with).
 */
export function fecPacketCount(mediaPackets: number, loss: number, targetFrameLoss = 0.03): number {
  if (mediaPackets <= 0 || !(loss >= 0.005)) return 0;
  const p = Math.min(loss, 0.5);
  // Largest group size m with n·(m + 1)·p²/2 ≤ target.
  const group = Math.floor((2 * targetFrameLoss) / (mediaPackets * p * p)) - 1;
  const perGroup = Math.max(MIN_GROUP, Math.min(group, mediaPackets));
  return Math.max(1, Math.ceil(mediaPackets / perGroup));
}

/**
 * Splits packets 0…n−1 into `count` FEC groups that each cover at most 48 consecutive sequence
 * numbers: chunks of ≤ 48 packets, each shared out round-robin (packet i of a chunk to its group
 * i mod k), so that losses next to each other land in different groups. Returns each group's indices.
 */
export function interleavedGroups(mediaPackets: number, count: number): number[][] {
  if (count <= 0 || mediaPackets <= 0) return [];
  const chunks = Math.ceil(mediaPackets / MAX_PROTECTED_PACKETS);
  const groups: number[][] = [];
  let start = 0;
  let left = Math.max(count, chunks);
  for (let chunk = 0; chunk < chunks; chunk++) {
    const size = Math.ceil((mediaPackets - start) / (chunks - chunk));
    const k = Math.max(1, Math.min(size, Math.round((left * size) / (mediaPackets - start))));
    for (let g = 0; g < k; g++) {
      const group: number[] = [];
      for (let i = g; i < size; i += k) group.push(start + i);
      groups.push(group);
    }
    left -= k;
    start += size;
  }
  return groups;
}
