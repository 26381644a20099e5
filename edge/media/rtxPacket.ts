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
 * Undefined when the player did not negotiate RTX for it.
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
  });
  sender.rtxSequenceNumber = (sender.rtxSequenceNumber + 1) & 0xffff;
  const original = Buffer.allocUnsafe(2);
  original.writeUInt16BE(seq, 0);
  return { header, payload: Buffer.concat([original, packet.payload]) };
}
