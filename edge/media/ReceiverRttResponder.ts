import type { RTCRtpSender, RtcpPacket } from 'werift';
import { joinSdp, splitSdp } from '../session/sdpSections.js';

/** RTCP XR (RFC 3611) packet type. */
export const RTCP_XR_TYPE = 207;
const BLOCK_RRTR = 4;
const BLOCK_DLRR = 5;

/** The SDP attribute (RFC 3611 §5.1) that has a receive-only Chromium send RRTR blocks for its RTT. */
export const RCVR_RTT_ATTRIBUTE = 'a=rtcp-xr:rcvr-rtt=all';

/** A Receiver Reference Time block (RFC 3611 §4.4) as `rtcpCompound` hands it on, werift knowing no XR. */
export interface ReceiverReferenceTime {
  readonly type: typeof RTCP_XR_TYPE;
  /** SSRC of the XR's sender (the player's RTCP SSRC). */
  readonly ssrc: number;
  /** Middle 32 bits of the block's NTP timestamp (the DLRR's LRR). */
  readonly lastRr: number;
}

/** Reads the first RRTR block of one XR packet (header included); undefined when it has none. */
export function parseReceiverReferenceTime(packet: Buffer): ReceiverReferenceTime | undefined {
  if (packet.length < 8 || packet[1] !== RTCP_XR_TYPE) return undefined;
  const ssrc = packet.readUInt32BE(4);
  let pos = 8;
  while (pos + 4 <= packet.length) {
    const blockType = packet[pos];
    const end = pos + 4 + packet.readUInt16BE(pos + 2) * 4;
    if (end > packet.length) return undefined;
    if (blockType === BLOCK_RRTR && end - pos >= 12) {
      // NTP seconds' low 16 bits and fraction's high 16 bits.
      return { type: RTCP_XR_TYPE, ssrc, lastRr: packet.readUInt32BE(pos + 6) };
    }
    pos = end;
  }
  return undefined;
}

/** An XR packet with one DLRR block (RFC 3611 §4.5) answering `rrtr`, `delaySeconds` after it came. */
export function dlrrPacket(senderSsrc: number, rrtr: ReceiverReferenceTime, delaySeconds: number): Buffer {
  const packet = Buffer.alloc(24);
  packet[0] = 0x80; // version 2, no padding, reserved 0
  packet[1] = RTCP_XR_TYPE;
  packet.writeUInt16BE(24 / 4 - 1, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet[8] = BLOCK_DLRR;
  packet.writeUInt16BE(3, 10); // one sub-block, 3 words
  packet.writeUInt32BE(rrtr.ssrc >>> 0, 12);
  packet.writeUInt32BE(rrtr.lastRr >>> 0, 16);
  packet.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(delaySeconds * 65536))), 20);
  return packet;
}

/** Adds `a=rtcp-xr:rcvr-rtt=all` to every video m-section of an SDP (once). */
export function offerReceiverRtt(sdp: string): string {
  const parts = splitSdp(sdp);
  for (const lines of parts.sections) {
    if (lines[0]?.startsWith('m=video') && !lines.includes(RCVR_RTT_ATTRIBUTE))
      lines.push(RCVR_RTT_ATTRIBUTE);
  }
  return joinSdp(parts);
}

interface SenderInternals {
  ssrc: number;
  dtlsTransport?: {
    onRtcp?: { subscribe(listener: (packet: RtcpPacket) => void): { unSubscribe(): void } };
    sendRtcp(packets: Array<{ serialize(): Buffer }>): Promise<unknown>;
  };
}

/**
 * Answers the player's Receiver Reference Time reports (RTCP XR, negotiated by `rcvr-rtt=all`) with a
 * DLRR, so that a receive-only Chromium measures the round trip. Without it Chromium has no RTT for the
 * stream and its NACK requester assumes 100 ms: a NACK or re-send that is lost (2 % each way on a
 * lossy link) is asked for again only ~110 ms later (its 20 ms tick), and a frame waiting on it is
 * shown ≥ 150 ms late — a freeze. With the RTT known it asks again after about one round trip.
 */
export class ReceiverRttResponder {
  readonly #sender: SenderInternals;
  readonly #unsubscribe: (() => void) | undefined;
  #answered = 0;
  #closed = false;

  constructor(options: { sender: RTCRtpSender }) {
    this.#sender = options.sender as unknown as SenderInternals;
    const subscription = this.#sender.dtlsTransport?.onRtcp?.subscribe((packet) => this.#onRtcp(packet));
    this.#unsubscribe = subscription ? () => subscription.unSubscribe() : undefined;
  }

  /** RRTR reports answered since start. */
  get answered(): number {
    return this.#answered;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops answering; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
  }

  #onRtcp(packet: RtcpPacket): void {
    const rrtr = packet as unknown as Partial<ReceiverReferenceTime>;
    if (this.#closed || rrtr.type !== RTCP_XR_TYPE || rrtr.ssrc === undefined || rrtr.lastRr === undefined)
      return;
    const transport = this.#sender.dtlsTransport;
    if (!transport) return;
    // Answered as it is read: no delay to report.
    const answer = dlrrPacket(this.#sender.ssrc, rrtr as ReceiverReferenceTime, 0);
    this.#answered++;
    transport.sendRtcp([{ serialize: () => answer }]).catch(() => {});
  }
}
