import type { RtpPacket } from 'werift';
import { dependencyDescriptor } from './dependencyDescriptor.js';

const ZERO_PLAYOUT_DELAY = Buffer.from([0, 0, 0]);
/** Seconds from the NTP epoch (1900) to the Unix epoch. */
const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** Negotiated ids of the per-frame header extensions (undefined: not sent). */
export interface FrameExtensionIds {
  /** playout-delay, sent as min = max = 0. */
  playoutDelay: number | undefined;
  /** abs-capture-time. */
  captureTime: number | undefined;
  /** Dependency Descriptor (`dependencyDescriptor.ts`), on every packet. */
  dependencyDescriptor?: number | undefined;
}

/** abs-capture-time's payload: the capture time as 64-bit NTP (32.32 fixed point). */
export function absCaptureTime(captureTimeMs: number): Buffer {
  const payload = Buffer.allocUnsafe(8);
  const seconds = Math.floor(captureTimeMs / 1000);
  payload.writeUInt32BE((seconds + NTP_UNIX_OFFSET_SECONDS) >>> 0, 0);
  payload.writeUInt32BE(Math.floor(((captureTimeMs - seconds * 1000) / 1000) * 0x1_0000_0000) >>> 0, 4);
  return payload;
}

/** True when the Annex B access unit holds an IDR slice (NAL type 5). */
export function isIdrAccessUnit(unit: Buffer): boolean {
  let at = unit.indexOf(START_CODE);
  while (at !== -1) {
    const type = (unit[at + 3] ?? 0) & 0x1f;
    if (type === 5) return true;
    // Coded slices end the search: an access unit's parameter sets come before its slices.
    if (type === 1) return false;
    at = unit.indexOf(START_CODE, at + 3);
  }
  return false;
}
const START_CODE = Buffer.from([0, 0, 1]);

/**
 * Stamps each frame's packets with the per-frame header extensions the player negotiated: playout-delay
 * and abs-capture-time on the first packet, and a Dependency Descriptor on every packet (frame numbers
 * counted per frame stamped; the template structure on a keyframe's first packet).
 */
export class FrameExtensions {
  readonly #ids: FrameExtensionIds;
  #frameNumber = 0;

  constructor(ids: FrameExtensionIds = { playoutDelay: undefined, captureTime: undefined }) {
    this.#ids = ids;
  }

  /** The player negotiated the Dependency Descriptor. */
  get dependencyDescriptor(): boolean {
    return this.#ids.dependencyDescriptor !== undefined;
  }

  /** Adds the extensions to one frame's packets (in order); `keyframe`: the frame is an IDR. */
  stamp(packets: RtpPacket[], captureTimeMs: number, keyframe: boolean): void {
    const first = packets[0];
    if (!first) return;
    const ids = this.#ids;
    if (ids.playoutDelay !== undefined) {
      first.header.extensions.push({ id: ids.playoutDelay, payload: ZERO_PLAYOUT_DELAY });
    }
    if (ids.captureTime !== undefined) {
      first.header.extensions.push({ id: ids.captureTime, payload: absCaptureTime(captureTimeMs) });
    }
    const dd = ids.dependencyDescriptor;
    if (dd === undefined) return;
    const frameNumber = this.#frameNumber;
    this.#frameNumber = (frameNumber + 1) & 0xffff;
    const last = packets.length - 1;
    packets.forEach((packet, i) => {
      const payload = dependencyDescriptor({
        startOfFrame: i === 0,
        endOfFrame: i === last,
        frameNumber,
        keyframe,
        attachStructure: keyframe && i === 0,
      });
      packet.header.extensions.push({ id: dd, payload });
    });
  }
}
