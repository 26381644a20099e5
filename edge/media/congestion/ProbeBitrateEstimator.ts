import type { PacketResult } from './PacketResult.js';
import type { ProbeCluster } from './ProbeCluster.js';

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
  /** Bytes of every packet with feedback (received or lost). */
  sentBytes: number;
  createdMs: number;
}

/** A cluster whose feedback has not completed in this long is abandoned, ms. */
const CLUSTER_TIMEOUT_MS = 2000;
const MAX_INTERVAL_MS = 1000;
const MIN_RECEIVED_SHARE = 0.8;
/** Receive rate at this share of the send rate or more: the path kept up (see `keptUp`). */
const KEPT_UP_SHARE = 0.9;
/** Loss share at most for a cluster that kept up. */
const KEPT_UP_LOSS = 0.05;
/**
 * Share of an announced cluster's bytes whose fate must be known for a `whole` answer: behind a token
 * bucket the spread-out tail is the cluster's last ~quarter, and an answer at 80 % read a 15.9 Mbit/s
 * cluster on a 3 Mbit/s link at 15.4.
 */
const WHOLE_SHARE = 0.95;

/**
 * Reads probe results out of feedback (GCC's ProbeBitrateEstimator): for each cluster, the send rate over
 * its send span and the receive rate over its arrival span; the path carried min(send, receive), or
 * somewhat under the receive rate when the receiver saw it spread out (a queue built). The send rate
 * counts every packet of the cluster, lost or not, and an announced cluster (`expect`) never reads above
 * the rate it was sent at: a probe cannot show that the path carries more than it tried (its first
 * packets, sent back to back from the pacer's budget, or let through a token bucket at line rate, would
 * otherwise read as several times the probe's rate).
 */
export class ProbeBitrateEstimator {
  readonly #clusters = new Map<number, ClusterTally>();
  readonly #expected = new Map<number, ProbeCluster>();
  /** Per cluster, whether its last reading showed the path keeping up with the sender (see `keptUp`). */
  readonly #keptUp = new Map<number, boolean>();

  /**
   * Whether cluster `id`'s last reading showed the path keeping up with the sender: it arrived as fast as
   * it left (≥ 0.9 ×) with next to no loss. A whole cluster of tens of kB that kept up was not let through
   * by a token bucket (one passes its burst, then spreads the rest out at the rate behind it), so it shows
   * the path carries at least what was sent, even when a busy CPU sent it slower than asked.
   */
  keptUp(id: number): boolean {
    return this.#keptUp.get(id) ?? false;
  }

  /** Announces a cluster the pacer is about to send. */
  expect(cluster: ProbeCluster): void {
    this.#expected.set(cluster.id, cluster);
  }

  /**
   * Feeds one probe packet's result; returns the cluster's rate in bps once it can tell. `whole`: an
   * announced cluster answers only once the fate of 80 % of its bytes is known (on a path with a token
   * bucket its first packets pass at line rate; elsewhere jitter makes the early answer the better one).
   */
  onPacket(result: PacketResult, nowMs: number, whole = false): number | undefined {
    for (const [id, tally] of this.#clusters) {
      if (nowMs - tally.createdMs > CLUSTER_TIMEOUT_MS) {
        this.#clusters.delete(id);
        this.#expected.delete(id);
        this.#keptUp.delete(id);
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
        sentBytes: 0,
        createdMs: nowMs,
      };
      this.#clusters.set(id, tally);
    }
    tally.sent++;
    tally.sentBytes += result.size;
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
    const cluster = this.#expected.get(id);
    if (tally.received < (cluster?.minPackets ?? 5) * MIN_RECEIVED_SHARE) return undefined;
    if (whole && cluster && tally.sentBytes < WHOLE_SHARE * cluster.bytes) return undefined;
    const sendSpan = tally.lastSendMs - tally.firstSendMs;
    const receiveSpan = tally.lastArrivalMs - tally.firstArrivalMs;
    if (sendSpan <= 0 || sendSpan > MAX_INTERVAL_MS || receiveSpan <= 0 || receiveSpan > MAX_INTERVAL_MS) {
      return undefined;
    }
    const sendBps = ((tally.sentBytes - tally.lastSendSize) * 8 * 1000) / sendSpan;
    const receiveBps = ((tally.bytes - tally.firstArrivalSize) * 8 * 1000) / receiveSpan;
    // Most of the packets lost or spread out by a queue: the path carries (a bit under) what arrived.
    const lossShare = 1 - tally.received / Math.max(1, tally.sent);
    const found =
      receiveBps < 0.9 * sendBps || lossShare > 0.2 ? 0.95 * receiveBps : Math.min(sendBps, receiveBps);
    this.#keptUp.set(id, receiveBps >= KEPT_UP_SHARE * sendBps && lossShare <= KEPT_UP_LOSS);
    return cluster ? Math.min(found, cluster.bps) : found;
  }
}
