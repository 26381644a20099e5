import { RtcpPacketConverter } from 'werift';
import { parseReceiverReferenceTime, RTCP_XR_TYPE } from './ReceiverRttResponder.js';

let installed = false;

/**
 * Makes werift parse each packet of a compound RTCP packet from its own bytes. werift 0.25's
 * `RtcpPacketConverter.deSerialize` hands every packet the rest of the compound (`data.subarray(pos)`,
 * its length field only moves the cursor), so a generic NACK read the packets after it (Chromium sends
 * RR + NACK + REMB/transport-cc in one compound) as more FCI entries: ~93 % of the sequence numbers the
 * edge "was NACKed" were the next packets' SSRCs and bitrates (0, 1, 258-272, 21063-21076, 36815 …,
 * the same values in every NACK), none in the send history. Padding was also read from the
 * compound's last byte. An XR packet's Receiver Reference Time block is handed on as a
 * `ReceiverReferenceTime` (werift has no XR). Installed once, process-wide (the class is werift's, shared by all peers).
 */
export function boundCompoundRtcp(): void {
  if (installed) return;
  installed = true;
  const parse = RtcpPacketConverter.deSerialize.bind(RtcpPacketConverter);
  RtcpPacketConverter.deSerialize = (data: Buffer) => {
    const packets: ReturnType<typeof parse> = [];
    let pos = 0;
    while (pos + 4 <= data.length) {
      // Length field: the packet's size in 32-bit words minus one (RFC 3550 §6.4.1).
      const end = Math.min(data.length, pos + 4 + data.readUInt16BE(pos + 2) * 4);
      const packet = data.subarray(pos, end);
      if (packet[1] === RTCP_XR_TYPE) {
        // werift skips XR: its Receiver Reference Time goes on as a plain object (`ReceiverRttResponder`).
        const rrtr = parseReceiverReferenceTime(packet);
        if (rrtr) packets.push(rrtr as unknown as (typeof packets)[number]);
      } else packets.push(...parse(packet));
      pos = end;
    }
    return packets;
  };
}
