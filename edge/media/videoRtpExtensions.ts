import type { RtpPacket } from 'werift';

const ZERO_PLAYOUT_DELAY = Buffer.from([0, 0, 0]);
/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** Negotiated ids of the per-frame header extensions (undefined: not sent). */
export interface FrameExtensionIds {
  /** playout-delay, sent as min = max = 0. */
  playoutDelay: number | undefined;
  /** abs-capture-time. */
  captureTime: number | undefined;
}

/** abs-capture-time's payload: the capture time as 64-bit NTP (32.32 fixed point). */
export function absCaptureTime(captureTimeMs: number): Buffer {
  const payload = Buffer.allocUnsafe(8);
  const seconds = Math.floor(captureTimeMs / 1000);
  payload.writeUInt32BE((seconds + NTP_UNIX_OFFSET_SECONDS) >>> 0, 0);
  payload.writeUInt32BE(Math.floor(((captureTimeMs - seconds * 1000) / 1000) * 0x1_0000_0000) >>> 0, 4);
  return payload;
}

/** Adds the playout-delay and capture-time extensions to the first packet of a frame. */
export function addFrameExtensions(
  packets: RtpPacket[],
  ids: FrameExtensionIds,
  captureTimeMs: number,
): void {
  const first = packets[0];
  if (!first) return;
  if (ids.playoutDelay !== undefined) {
    first.header.extensions.push({ id: ids.playoutDelay, payload: ZERO_PLAYOUT_DELAY });
  }
  if (ids.captureTime !== undefined) {
    first.header.extensions.push({ id: ids.captureTime, payload: absCaptureTime(captureTimeMs) });
  }
}
