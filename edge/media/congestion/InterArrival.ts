/** Inter-group deltas of two consecutive packet groups (ms). */
export interface InterArrivalDelta {
  /** Difference of the groups' last send times. */
  sendDeltaMs: number;
  /** Difference of the groups' last arrival times. */
  arrivalDeltaMs: number;
  /** Arrival time of the newer group's last packet (receiver clock). */
  arrivalTimeMs: number;
}

interface PacketGroup {
  firstSendMs: number;
  lastSendMs: number;
  firstArrivalMs: number;
  lastArrivalMs: number;
}

/** Send times within this span form one group (a frame's packets, a pacer burst). */
const GROUP_SPAN_MS = 5;
/** A packet arriving this soon after the previous one, earlier than its send spacing, is the same burst. */
const BURST_DELTA_MS = 5;
const MAX_BURST_DURATION_MS = 100;
/** An arrival gap this far off the send gap means the receiver's clock jumped: start over. */
const ARRIVAL_JUMP_MS = 3000;

/**
 * Groups received packets by send time (GCC's InterArrival) and yields the delta between each completed
 * group and the one before: the raw delay-gradient samples. Packets must be fed in send order.
 */
export class InterArrival {
  #current: PacketGroup | undefined;
  #previous: PacketGroup | undefined;

  /** Feeds one received packet; returns a delta when it completed a group. */
  onPacket(sendTimeMs: number, arrivalTimeMs: number): InterArrivalDelta | undefined {
    const current = this.#current;
    if (!current) {
      this.#current = this.#group(sendTimeMs, arrivalTimeMs);
      return undefined;
    }
    if (sendTimeMs < current.firstSendMs) return undefined; // reordered from an older group
    if (this.#belongs(current, sendTimeMs, arrivalTimeMs)) {
      current.lastSendMs = Math.max(current.lastSendMs, sendTimeMs);
      current.lastArrivalMs = Math.max(current.lastArrivalMs, arrivalTimeMs);
      return undefined;
    }
    let delta: InterArrivalDelta | undefined;
    const previous = this.#previous;
    if (previous) {
      const sendDeltaMs = current.lastSendMs - previous.lastSendMs;
      const arrivalDeltaMs = current.lastArrivalMs - previous.lastArrivalMs;
      if (Math.abs(arrivalDeltaMs - sendDeltaMs) > ARRIVAL_JUMP_MS || arrivalDeltaMs < 0) {
        this.reset();
        this.#current = this.#group(sendTimeMs, arrivalTimeMs);
        return undefined;
      }
      delta = { sendDeltaMs, arrivalDeltaMs, arrivalTimeMs: current.lastArrivalMs };
    }
    this.#previous = current;
    this.#current = this.#group(sendTimeMs, arrivalTimeMs);
    return delta;
  }

  /** Forgets all groups. */
  reset(): void {
    this.#current = undefined;
    this.#previous = undefined;
  }

  #belongs(group: PacketGroup, sendTimeMs: number, arrivalTimeMs: number): boolean {
    if (sendTimeMs - group.firstSendMs <= GROUP_SPAN_MS) return true;
    // A burst: packets queued behind each other arrive back to back even if sent further apart.
    const arrivalDelta = arrivalTimeMs - group.lastArrivalMs;
    const sendDelta = sendTimeMs - group.lastSendMs;
    return (
      arrivalDelta - sendDelta < 0 &&
      arrivalDelta <= BURST_DELTA_MS &&
      arrivalTimeMs - group.firstArrivalMs < MAX_BURST_DURATION_MS
    );
  }

  #group(sendTimeMs: number, arrivalTimeMs: number): PacketGroup {
    return {
      firstSendMs: sendTimeMs,
      lastSendMs: sendTimeMs,
      firstArrivalMs: arrivalTimeMs,
      lastArrivalMs: arrivalTimeMs,
    };
  }
}
