import {
  type RTCRtpSender,
  RTP_EXTENSION_URI,
  RtpHeader,
  RtpPacket,
  serializeRepairedRtpStreamId,
  serializeSdesMid,
  serializeSdesRTPStreamID,
} from 'werift';
import { fecPacketCount, interleavedGroups, ulpfecPayload } from './ulpfec.js';

/** Payload types of a video sender that negotiated RED and ULPFEC. */
export interface FecPayloadTypes {
  /** The media codec's (H.264). */
  media: number;
  red: number;
  ulpfec: number;
  /** RTX for RED-wrapped packets (apt = red), when negotiated. */
  rtxForRed: number | undefined;
}

/** What the sender puts on each packet's wire image besides what the edge gave it. */
export interface WireContext {
  ssrc: number;
  /** Added to the edge's sequence numbers and timestamps on the wire. */
  seqOffset: number;
  timestampOffset: number;
  /** Header extensions the sender stamps itself, at their wire size (per-packet values as zeros). */
  senderExtensions: Array<{ id: number; payload: Buffer }>;
}

export interface VideoFecOptions {
  payloadTypes: FecPayloadTypes;
  /** Read once per frame (the sender's offsets settle with its first packet). */
  wire: () => WireContext;
  /** The loss fraction the feedback measures now (0-1). */
  lossFraction: () => number;
  /** Share of frames that may be left for NACK to repair (default 0.03). */
  targetFrameLoss?: number;
}

/** Counters since start. */
export interface VideoFecStats {
  mediaPackets: number;
  fecPackets: number;
  fecBytes: number;
  mediaBytes: number;
}

/** werift's sender keeps these private; read them without widening its types. */
interface SenderInternals {
  codec?: { payloadType: number };
  ssrc: number;
  seqOffset: number;
  timestampOffset: number;
  mid?: string;
  rtpStreamId?: string;
  repairedRtpStreamId?: string;
  headerExtensions?: Array<{ id: number; uri: string }>;
}

/** Packets that went into RED here: the sender must send them with their own payload type. */
const redPackets = new WeakSet<RtpPacket>();
/** The FEC packets made here (also in `redPackets`). */
const fecPackets = new WeakSet<RtpPacket>();

/** Per-frame weight of the newest loss sample in the smoothed loss (~1 s at 60 fps). */
const LOSS_SMOOTHING = 1 / 60;

/**
 * Forward error correction for the video (ULPFEC in RED, as Chromium receives it): each frame's packets
 * are wrapped in RED (one block, the media payload type) and followed by ULPFEC packets — XOR parity over
 * interleaved groups of the frame's packets, as many as the smoothed measured loss calls for
 * (`fecPacketCount`: none without loss). FEC packets take sequence numbers in the media's own space (the
 * receiver treats a received one as padding, so it fills its place; a lost one is NACKed like media). The
 * parity is computed over the packets' wire images (the 12-byte header, then the header extensions — the
 * sender's own ones, transport-wide number and abs-send-time, counted at their size with zero values, so a
 * recovered packet has those two wrong, which the receiver does not use — and the payload).
 */
export class VideoFec {
  readonly #types: FecPayloadTypes;
  readonly #wire: () => WireContext;
  readonly #lossFraction: () => number;
  readonly #targetFrameLoss: number;
  #seq: number | undefined;
  #loss = 0;
  #overhead = 0;
  readonly #stats: VideoFecStats = { mediaPackets: 0, fecPackets: 0, fecBytes: 0, mediaBytes: 0 };

  constructor(options: VideoFecOptions) {
    this.#types = options.payloadTypes;
    this.#wire = options.wire;
    this.#lossFraction = options.lossFraction;
    this.#targetFrameLoss = options.targetFrameLoss ?? 0.03;
  }

  /** Counters since start (a live object). */
  get stats(): Readonly<VideoFecStats> {
    return this.#stats;
  }

  /** The smoothed loss fraction protection is sized for. */
  get loss(): number {
    return this.#loss;
  }

  /** FEC bytes ÷ media bytes, smoothed over recent frames. */
  get overhead(): number {
    return this.#overhead;
  }

  /**
   * Renumbers one frame's packets (in order, from the first one's number on), wraps them in RED and
   * returns them followed by the frame's FEC packets. The packets are changed in place.
   */
  protect(packets: RtpPacket[]): RtpPacket[] {
    const first = packets[0];
    if (!first) return packets;
    this.#loss += LOSS_SMOOTHING * (Math.max(0, this.#lossFraction()) - this.#loss);
    const types = this.#types;
    const wire = this.#wire();
    const images: Buffer[] = [];
    const seqs: number[] = [];
    let mediaBytes = 0;
    for (const packet of packets) {
      packet.header.sequenceNumber = this.#nextSeq(packet.header.sequenceNumber);
      images.push(wireImage(packet, wire, types.media));
      seqs.push((packet.header.sequenceNumber + wire.seqOffset) & 0xffff);
      mediaBytes += packet.payload.length;
    }
    const count = fecPacketCount(packets.length, this.#loss, this.#targetFrameLoss);
    const out = packets.map((packet) => wrapInRed(packet, types.media, types.red));
    const timestamp = (packets.at(-1) ?? first).header.timestamp;
    let fecBytes = 0;
    for (const group of interleavedGroups(packets.length, count)) {
      const base = seqs[group[0] as number] as number;
      const payload = ulpfecPayload(images, seqs, group, base);
      const header = new RtpHeader({
        payloadType: types.red,
        sequenceNumber: this.#nextSeq(0),
        timestamp,
        marker: false,
      });
      const fec = new RtpPacket(header, Buffer.concat([Buffer.from([types.ulpfec & 0x7f]), payload]));
      redPackets.add(fec);
      fecPackets.add(fec);
      out.push(fec);
      fecBytes += fec.payload.length;
    }
    this.#stats.mediaPackets += packets.length;
    this.#stats.fecPackets += out.length - packets.length;
    this.#stats.mediaBytes += mediaBytes;
    this.#stats.fecBytes += fecBytes;
    this.#overhead += 0.05 * (fecBytes / Math.max(1, mediaBytes) - this.#overhead);
    return out;
  }

  #nextSeq(first: number): number {
    const seq = this.#seq ?? first;
    this.#seq = (seq + 1) & 0xffff;
    return seq;
  }
}

/** True for a packet `VideoFec` wrapped in RED (or made as FEC). */
export function isRedPacket(packet: RtpPacket): boolean {
  return redPackets.has(packet);
}

/** True for an FEC packet `VideoFec` made (which the receiver counts as padding). */
export function isFecPacket(packet: RtpPacket): boolean {
  return fecPackets.has(packet);
}

function wrapInRed(packet: RtpPacket, mediaType: number, redType: number): RtpPacket {
  packet.payload = Buffer.concat([Buffer.from([mediaType & 0x7f]), packet.payload]);
  packet.header.payloadType = redType;
  redPackets.add(packet);
  return packet;
}

/** The packet as the receiver restores it from RED: media payload type, wire numbering and extensions. */
export function wireImage(packet: RtpPacket, wire: WireContext, mediaType: number): Buffer {
  const extensions = wire.senderExtensions.map((e) => ({ id: e.id, payload: e.payload }));
  for (const own of packet.header.extensions) {
    const same = extensions.find((e) => e.id === own.id);
    if (same) same.payload = own.payload;
    else extensions.push({ id: own.id, payload: own.payload });
  }
  extensions.sort((a, b) => a.id - b.id);
  const header = new RtpHeader({
    payloadType: mediaType,
    marker: packet.header.marker,
    sequenceNumber: (packet.header.sequenceNumber + wire.seqOffset) & 0xffff,
    timestamp: (packet.header.timestamp + wire.timestampOffset) >>> 0,
    ssrc: wire.ssrc,
    extensionProfile: packet.header.extensionProfile,
    extensions,
  });
  return new RtpPacket(header, packet.payload).serialize();
}

/**
 * The RED/ULPFEC payload types of `sender`'s media section when both descriptions carry them (werift's own
 * codec negotiation drops a video `red` without fmtp, so the SDP is read: for an offer the edge made, the
 * player's answer lists what it accepted; an answer werift made without them turns FEC off). Payload types
 * are the player's (the remote description's).
 */
export function negotiatedFec(
  sender: RTCRtpSender,
  localSdp: string | undefined,
  remoteSdp: string | undefined,
): FecPayloadTypes | undefined {
  const internals = sender as unknown as SenderInternals;
  const media = internals.codec?.payloadType;
  if (media === undefined || !localSdp || !remoteSdp) return undefined;
  const local = sdpFecTypes(localSdp, internals.mid);
  const remote = sdpFecTypes(remoteSdp, internals.mid);
  if (local?.red === undefined || local.ulpfec === undefined) return undefined;
  if (remote?.red === undefined || remote.ulpfec === undefined) return undefined;
  return { media, red: remote.red, ulpfec: remote.ulpfec, rtxForRed: remote.rtxForRed };
}

/** red, ulpfec and RTX-for-red payload types in the media section of `mid` (the first video one without). */
function sdpFecTypes(
  sdp: string,
  mid: string | undefined,
): { red?: number; ulpfec?: number; rtxForRed?: number } | undefined {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  const section =
    sections.find((m) => mid !== undefined && new RegExp(`\\na=mid:${mid}\\r?(\\n|$)`).test(m)) ??
    sections.find((m) => m.startsWith('video'));
  if (!section) return undefined;
  const byName = new Map<string, number[]>();
  for (const [, pt, name] of section.matchAll(/a=rtpmap:(\d+) ([\w-]+)\//g)) {
    const key = (name as string).toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), Number(pt)]);
  }
  const red = byName.get('red')?.[0];
  const ulpfec = byName.get('ulpfec')?.[0];
  const rtxForRed = (byName.get('rtx') ?? []).find((pt) =>
    new RegExp(`a=fmtp:${pt} apt=${red}\\r?(\\n|$)`).test(section),
  );
  return {
    ...(red !== undefined ? { red } : {}),
    ...(ulpfec !== undefined ? { ulpfec } : {}),
    ...(rtxForRed !== undefined ? { rtxForRed } : {}),
  };
}

/** What werift's `dispatchRtp` stamps on each video packet of `sender`. */
export function weriftWireContext(sender: RTCRtpSender): WireContext {
  const s = sender as unknown as SenderInternals;
  const senderExtensions: WireContext['senderExtensions'] = [];
  for (const { id, uri } of s.headerExtensions ?? []) {
    const payload =
      uri === RTP_EXTENSION_URI.sdesMid && s.mid
        ? serializeSdesMid(s.mid)
        : uri === RTP_EXTENSION_URI.sdesRTPStreamID && s.rtpStreamId
          ? serializeSdesRTPStreamID(s.rtpStreamId)
          : uri === RTP_EXTENSION_URI.repairedRtpStreamId && s.repairedRtpStreamId
            ? serializeRepairedRtpStreamId(s.repairedRtpStreamId)
            : uri === RTP_EXTENSION_URI.transportWideCC
              ? Buffer.alloc(2)
              : uri === RTP_EXTENSION_URI.absSendTime
                ? Buffer.alloc(3)
                : undefined;
    if (payload) senderExtensions.push({ id, payload });
  }
  return { ssrc: s.ssrc, seqOffset: s.seqOffset, timestampOffset: s.timestampOffset, senderExtensions };
}

/**
 * `sender.sendRtp(packet)`, with a packet `VideoFec` wrapped in RED sent under its own payload type
 * (werift stamps every packet with the sender's codec: it is swapped for the call, which reaches the
 * stamping synchronously). Other packets are sent as they are.
 */
export function sendVideoRtp(sender: RTCRtpSender, packet: RtpPacket): Promise<void> {
  if (!redPackets.has(packet)) return sender.sendRtp(packet);
  const internals = sender as unknown as SenderInternals;
  const codec = internals.codec;
  if (!codec) return sender.sendRtp(packet);
  internals.codec = { ...codec, payloadType: packet.header.payloadType };
  try {
    return sender.sendRtp(packet);
  } finally {
    internals.codec = codec;
  }
}
