/**
 * The parts of a transport-wide congestion control feedback (RTCP RTPFB FMT 15,
 * draft-holmer-rmcat-transport-wide-cc-extensions-01) this reader needs. werift's `TransportWideCC`
 * fits: its chunk and delta parsing is right, but its `packetResults` getter is not (it skips status
 * vector chunks, counts one packet too many per run, truncates each delta to whole ms and ignores the
 * 16-bit wrap), so the results are rebuilt here from the parsed chunks.
 */
export interface TransportFeedbackLike {
  baseSequenceNumber: number;
  packetStatusCount: number;
  /** 24-bit, multiples of 64 ms. */
  referenceTime: number;
  fbPktCount: number;
  packetChunks: ReadonlyArray<
    { runLength: number; packetStatus: number } | { symbolSize: number; symbolList: readonly number[] }
  >;
  /** One per received packet, in order; `delta` in µs. */
  recvDeltas: ReadonlyArray<{ delta: number }>;
}

/** One packet of a feedback message. */
export interface TransportFeedbackPacket {
  /** Transport-wide sequence number (16 bit). */
  seq: number;
  /** Arrival time at the receiver in µs on the receiver's clock, undefined when reported lost. */
  arrivalUs: number | undefined;
}

/** What one feedback message says. */
export interface TransportFeedbackReport {
  /** Feedback packet count (8 bit), to detect lost feedback. */
  feedbackCount: number;
  packets: TransportFeedbackPacket[];
}

const NOT_RECEIVED = 0;
const SMALL_DELTA = 1;
const LARGE_DELTA = 2;

/** Packet statuses and arrival times (µs) of one transport-cc feedback; see `TransportFeedbackLike`. */
export function readTransportFeedback(feedback: TransportFeedbackLike): TransportFeedbackReport {
  const statuses: number[] = [];
  const count = feedback.packetStatusCount;
  for (const chunk of feedback.packetChunks) {
    if (statuses.length >= count) break;
    if ('runLength' in chunk) {
      const run = Math.min(chunk.runLength, count - statuses.length);
      for (let i = 0; i < run; i++) statuses.push(chunk.packetStatus);
    } else {
      for (const symbol of chunk.symbolList) {
        if (statuses.length >= count) break;
        statuses.push(symbol);
      }
    }
  }
  const packets: TransportFeedbackPacket[] = [];
  let arrivalUs = feedback.referenceTime * 64_000;
  let deltaIndex = 0;
  for (let i = 0; i < statuses.length; i++) {
    const seq = (feedback.baseSequenceNumber + i) & 0xffff;
    const status = statuses[i];
    if (status === SMALL_DELTA || status === LARGE_DELTA) {
      const delta = feedback.recvDeltas[deltaIndex++];
      if (!delta) {
        // Truncated message: what follows cannot be placed in time.
        packets.push({ seq, arrivalUs: undefined });
        continue;
      }
      arrivalUs += delta.delta;
      packets.push({ seq, arrivalUs });
    } else if (status === NOT_RECEIVED) {
      packets.push({ seq, arrivalUs: undefined });
    }
    // Status 3 (received, no delta) is reserved in the draft: neither lost nor placeable, so left out.
  }
  return { feedbackCount: feedback.fbPktCount, packets };
}
