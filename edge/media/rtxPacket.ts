import { RtpHeader, type RtpPacket } from 'werift';

/** What an RTX copy needs from werift's RTP sender (private there; read without widening its types). */
export interface RtxSenderInternals {
  rtxPayloadType?: number;
  rtxSsrc: number;
  rtxSequenceNumber: number;
  timestampOffset: number;
}

/**
 * `packet` (as handed to the sender, before werift's offsets) as an RTX packet (RFC 4588): the original
 * sequence number `seq` ahead of the payload, on the RTX SSRC with its next sequence number, under
 * `payloadType` (the RTX type of the packet's own: the codec's by default, RED's for a RED packet).
 * It keeps the packet's own header extensions (those the edge added: the Dependency Descriptor, and on a
 * frame's first packet playout-delay and abs-capture-time): the receiver restores the original from the
 * RTX packet's header, and a repaired packet without its descriptor would leave its frame to the H.264
 * sequence-number reference finder. Undefined when the player did not negotiate RTX for it.
 */
export function rtxPacket(
  sender: RtxSenderInternals,
  packet: RtpPacket,
  seq: number,
  payloadType = sender.rtxPayloadType,
): { header: RtpHeader; payload: Buffer } | undefined {
  if (payloadType === undefined) return undefined;
  const header = new RtpHeader({
    payloadType,
    marker: packet.header.marker,
    sequenceNumber: sender.rtxSequenceNumber,
    timestamp: (packet.header.timestamp + sender.timestampOffset) >>> 0,
    ssrc: sender.rtxSsrc,
    extensions: packet.header.extensions.map((e) => ({ id: e.id, payload: e.payload })),
  });
  sender.rtxSequenceNumber = (sender.rtxSequenceNumber + 1) & 0xffff;
  const original = Buffer.allocUnsafe(2);
  original.writeUInt16BE(seq, 0);
  return { header, payload: Buffer.concat([original, packet.payload]) };
}
