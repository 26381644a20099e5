import type { PacketResult } from './PacketResult.js';

interface ClusterTally {
  sent: number;
  received: number;
  firstSendMs: number;
  lastSendMs: number;
  lastSendSize: number;
  firstArrivalMs: number;
  firstArrivalSize: number;
  lastArrivalMs: number;
  bytes: number;
  createdMs: number;
}

/** A cluster whose feedback has not completed in this long is abandoned, ms. */
const CLUSTER_TIMEOUT_MS = 2000;
const MAX_INTERVAL_MS = 1000;
const MIN_RECEIVED_SHARE = 0.8;

/**
 * Reads probe results out of feedback (GCC's ProbeBitrateEstimator): for each cluster, the send rate over
 * its send span and the receive rate over its arrival span; the path carried min(send, receive), or
 * somewhat under the receive rate when the receiver saw it spread out (a queue built).
 */
export class ProbeBitrateEstimator {
  readonly #clusters = new Map<number, ClusterTally>();
  readonly #minPackets = new Map<number, number>();

  /** Announces cluster `id` (so its packets are counted against its minimum). */
  expect(id: number, minPackets: number): void {
    this.#minPackets.set(id, minPackets);
  }

  /** Feeds one probe packet's result; returns the cluster's rate in bps once it can tell. */
  onPacket(result: PacketResult, nowMs: number): number | undefined {
    for (const [id, tally] of this.#clusters) {
      if (nowMs - tally.createdMs > CLUSTER_TIMEOUT_MS) {
        this.#clusters.delete(id);
        this.#minPackets.delete(id);
      }
    }
    if (result.probeClusterId < 0) return undefined;
    const id = result.probeClusterId;
    let tally = this.#clusters.get(id);
    if (!tally) {
      tally = {
        sent: 0,
        received: 0,
        firstSendMs: result.sendTimeMs,
        lastSendMs: result.sendTimeMs,
        lastSendSize: result.size,
        firstArrivalMs: Number.POSITIVE_INFINITY,
        firstArrivalSize: 0,
        lastArrivalMs: Number.NEGATIVE_INFINITY,
        bytes: 0,
        createdMs: nowMs,
      };
      this.#clusters.set(id, tally);
    }
    tally.sent++;
    if (result.sendTimeMs < tally.firstSendMs) tally.firstSendMs = result.sendTimeMs;
    if (result.sendTimeMs >= tally.lastSendMs) {
      tally.lastSendMs = result.sendTimeMs;
      tally.lastSendSize = result.size;
    }
    if (result.arrivalTimeMs === undefined) return undefined;
    tally.received++;
    tally.bytes += result.size;
    if (result.arrivalTimeMs < tally.firstArrivalMs) {
      tally.firstArrivalMs = result.arrivalTimeMs;
      tally.firstArrivalSize = result.size;
    }
    if (result.arrivalTimeMs > tally.lastArrivalMs) tally.lastArrivalMs = result.arrivalTimeMs;
    const minPackets = this.#minPackets.get(id) ?? 5;
    if (tally.received < minPackets * MIN_RECEIVED_SHARE) return undefined;
    const sendSpan = tally.lastSendMs - tally.firstSendMs;
    const receiveSpan = tally.lastArrivalMs - tally.firstArrivalMs;
    if (sendSpan <= 0 || sendSpan > MAX_INTERVAL_MS || receiveSpan <= 0 || receiveSpan > MAX_INTERVAL_MS) {
      return undefined;
    }
    const sendBps = ((tally.bytes - tally.lastSendSize) * 8 * 1000) / sendSpan;
    const receiveBps = ((tally.bytes - tally.firstArrivalSize) * 8 * 1000) / receiveSpan;
    // Most of the packets lost or spread out by a queue: the path carries (a bit under) what arrived.
    const lossShare = 1 - tally.received / Math.max(1, tally.sent);
    if (receiveBps < 0.9 * sendBps || lossShare > 0.2) return 0.95 * receiveBps;
    return Math.min(sendBps, receiveBps);
  }
}
