import { type PacerClock, systemClock } from '../FramePacer.js';
import type { ProbeCluster } from './ProbeCluster.js';

export interface PacketPacerOptions<P> {
  clock?: PacerClock;
  /** Sends one media packet now; `probeClusterId` is -1 outside a probe. Must not throw (errors are counted). */
  send: (packet: P, probeClusterId: number) => void;
  /** Bytes of a packet on the wire. */
  sizeOf: (packet: P) => number;
  /** Sends about `bytes` of padding as part of probe `clusterId`; returns the bytes sent (0: cannot). */
  sendPadding?: (bytes: number, clusterId: number) => number;
  /** Pacing rate, bps (default 5 Mbit/s); the caller sets a factor × the estimate. */
  rateBps?: number;
  /** Longest a packet should wait: the rate rises to drain the queue by then (default 250 ms). */
  maxQueueMs?: number;
  /** Most bytes sent back to back after an idle spell, in ms at the rate (default 5 ms). */
  burstMs?: number;
}

/** Counters since start. */
export interface PacketPacerStats {
  packets: number;
  bytes: number;
  paddingBytes: number;
  probes: number;
  sendErrors: number;
  /** Longest a packet waited in the queue, ms. */
  maxWaitMs: number;
  /** Queued frames a keyframe replaced before they had all left, and their packets not sent. */
  supersededFrames: number;
  supersededPackets: number;
}

interface Batch<P> {
  packets: P[];
  next: number;
  enqueuedMs: number;
  done: (sent: boolean) => void;
}

/** A packet sent ahead of the media queue (a retransmission): its wire size and how to send it. */
interface PriorityPacket {
  size: number;
  send: () => void;
}

interface ActiveProbe {
  cluster: ProbeCluster;
  sentBytes: number;
  sentPackets: number;
  budget: number;
  lastMs: number;
}

/** How far behind its rate a probe cluster may catch up after a late wake, ms. */
const PROBE_CATCH_UP_MS = 4;
/** Typical padding packet size, bytes. */
const PADDING_PACKET_BYTES = 1100;

/**
 * Spreads packets over time at a set rate (a leaky bucket on an injected clock), so a frame — a
 * keyframe most of all — reaches the bottleneck as a stream at ~1.5× the estimate instead of a burst at
 * line rate that overflows a shallow router queue. Also sends probe clusters at their own rate, media
 * first and padding for the rest. Batches leave in order; each `enqueue` resolves when its last packet
 * is sent (or dropped by `close()`).
 */
export class PacketPacer<P> {
  readonly #clock: PacerClock;
  readonly #send: PacketPacerOptions<P>['send'];
  readonly #sizeOf: (packet: P) => number;
  readonly #sendPadding: ((bytes: number, clusterId: number) => number) | undefined;
  readonly #maxQueueMs: number;
  readonly #burstMs: number;
  #rateBps: number;
  #budget = 0;
  #lastMs: number;
  readonly #queue: Batch<P>[] = [];
  readonly #priority: PriorityPacket[] = [];
  #queueBytes = 0;
  readonly #probes: ProbeCluster[] = [];
  #probe: ActiveProbe | undefined;
  #timer: unknown;
  #closed = false;
  readonly #stats: PacketPacerStats = {
    packets: 0,
    bytes: 0,
    paddingBytes: 0,
    probes: 0,
    sendErrors: 0,
    maxWaitMs: 0,
    supersededFrames: 0,
    supersededPackets: 0,
  };

  constructor(options: PacketPacerOptions<P>) {
    this.#clock = options.clock ?? systemClock;
    this.#send = options.send;
    this.#sizeOf = options.sizeOf;
    this.#sendPadding = options.sendPadding;
    this.#rateBps = options.rateBps ?? 5_000_000;
    this.#maxQueueMs = options.maxQueueMs ?? 250;
    this.#burstMs = options.burstMs ?? 5;
    this.#lastMs = this.#clock.now();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get rateBps(): number {
    return this.#rateBps;
  }

  /** Bytes waiting. */
  get queueBytes(): number {
    return this.#queueBytes;
  }

  /** Time the queue needs to drain at the current rate, ms. */
  get queueMs(): number {
    return (this.#queueBytes * 8000) / this.#rateBps;
  }

  /** Counters since start (a live object). */
  get stats(): Readonly<PacketPacerStats> {
    return this.#stats;
  }

  /** Changes the pacing rate (from the next packet on). */
  setRate(bps: number): void {
    this.#refill(this.#clock.now());
    this.#rateBps = Math.max(1000, bps);
  }

  /**
   * Queues one frame's packets; resolves when the last of them has left (true), or when they were
   * dropped (false: superseded by a keyframe, or the pacer closed). `supersede` (a keyframe): the unsent
   * packets of every frame queued before it are dropped, as the keyframe replaces them; sent late they
   * only delayed it (after a link drop the queue held 100-130 ms of frames sized for the old link).
   */
  enqueue(packets: P[], supersede = false): Promise<boolean> {
    if (this.#closed || packets.length === 0) return Promise.resolve(false);
    if (supersede) this.#dropQueued();
    return new Promise<boolean>((resolve) => {
      for (const packet of packets) this.#queueBytes += this.#sizeOf(packet);
      this.#queue.push({ packets, next: 0, enqueuedMs: this.#clock.now(), done: resolve });
      this.#wake();
    });
  }

  /**
   * Queues a packet ahead of every queued frame (a retransmission: the player is waiting for it), still
   * at the pacing rate, so a burst of them does not overflow the bottleneck they were lost at. `send`
   * must not throw (errors are counted).
   */
  enqueuePriority(size: number, send: () => void): void {
    if (this.#closed) return;
    this.#priority.push({ size, send });
    this.#queueBytes += size;
    this.#wake();
  }

  /** Sends a probe cluster as soon as the current one (if any) is done. */
  probe(cluster: ProbeCluster): void {
    if (this.#closed) return;
    this.#probes.push(cluster);
    this.#wake();
  }

  /** Stops; queued packets are dropped and their batches resolved. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const batch of this.#queue.splice(0)) batch.done(false);
    this.#priority.length = 0;
    this.#queueBytes = 0;
    this.#probes.length = 0;
    this.#probe = undefined;
  }

  #wake(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#process();
  }

  #refill(nowMs: number): void {
    const rate = this.#effectiveRate();
    const cap = Math.max(1200, (rate * this.#burstMs) / 8000);
    this.#budget = Math.min(cap, this.#budget + (rate * Math.max(0, nowMs - this.#lastMs)) / 8000);
    this.#lastMs = nowMs;
  }

  /** The set rate, or faster when the oldest queued frame would otherwise wait longer than `maxQueueMs`. */
  #effectiveRate(): number {
    const oldest = this.#queue[0];
    if (!oldest) return this.#rateBps;
    const left = Math.max(1, this.#maxQueueMs - (this.#clock.now() - oldest.enqueuedMs));
    return Math.max(this.#rateBps, (this.#queueBytes * 8000) / left);
  }

  #process = (): void => {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    this.#refill(now);
    let waitMs = this.#probe || this.#probes.length > 0 ? this.#sendProbe(now) : undefined;
    if (waitMs === undefined) {
      while (this.#queued() && this.#budget >= 0) {
        const size = this.#sendNext(now, -1);
        this.#budget -= size;
      }
      if (this.#queued()) waitMs = (-this.#budget * 8000) / this.#effectiveRate();
    }
    // Timers are ms-grained anyway; a sub-ms wait would spin on float residue.
    if (waitMs !== undefined)
      this.#timer = this.#clock.setTimeout(this.#process, waitMs > 0 ? Math.max(1, waitMs) : 0);
  };

  /** Sends what the active probe may send now; returns ms until it may send again, or undefined when done. */
  #sendProbe(now: number): number | undefined {
    if (!this.#probe) {
      const cluster = this.#probes.shift();
      if (!cluster) return undefined;
      this.#probe = { cluster, sentBytes: 0, sentPackets: 0, budget: 1200, lastMs: now };
      this.#stats.probes++;
    }
    const probe = this.#probe;
    const { cluster } = probe;
    // The budget may catch up a few ms at the cluster's rate: a busy event loop wakes the pacer late,
    // and capped at two packets a wake a 20 Mbit/s cluster went out at 8-12 Mbit/s, which the path then
    // "carried" and recovery read as a link still short of its old level.
    const cap = Math.max(2400, (cluster.bps * PROBE_CATCH_UP_MS) / 8000);
    probe.budget = Math.min(cap, probe.budget + (cluster.bps * (now - probe.lastMs)) / 8000);
    probe.lastMs = now;
    while (probe.budget >= 0) {
      if (probe.sentBytes >= cluster.bytes && probe.sentPackets >= cluster.minPackets) {
        this.#probe = undefined;
        // Media sent during the probe spent the regular budget too.
        this.#budget = Math.min(this.#budget, 0);
        return this.#probes.length > 0 ? 0 : this.#queued() ? 0 : undefined;
      }
      let size: number;
      if (this.#queued()) {
        size = this.#sendNext(now, cluster.id);
      } else {
        const want = Math.min(PADDING_PACKET_BYTES, Math.max(200, cluster.bytes - probe.sentBytes));
        size = this.#padding(want, cluster.id);
        if (size <= 0) {
          // Cannot pad: the probe ends with what media it had.
          this.#probe = undefined;
          return this.#queued() ? 0 : undefined;
        }
      }
      probe.sentBytes += size;
      probe.sentPackets++;
      probe.budget -= size;
    }
    return (-probe.budget * 8000) / cluster.bps;
  }

  #padding(bytes: number, clusterId: number): number {
    if (!this.#sendPadding) return 0;
    try {
      const sent = this.#sendPadding(bytes, clusterId);
      this.#stats.paddingBytes += sent;
      return sent;
    } catch {
      this.#stats.sendErrors++;
      return 0;
    }
  }

  /** Drops every queued frame's unsent packets (retransmissions stay). */
  #dropQueued(): void {
    for (const batch of this.#queue.splice(0)) {
      const left = batch.packets.length - batch.next;
      for (let i = batch.next; i < batch.packets.length; i++) {
        this.#queueBytes -= this.#sizeOf(batch.packets[i] as P);
      }
      this.#stats.supersededPackets += left;
      this.#stats.supersededFrames++;
      batch.done(false);
    }
  }

  #queued(): boolean {
    return this.#priority.length > 0 || this.#queue.length > 0;
  }

  /** Sends the head packet (a priority one first; it is not part of a probe); returns its size. */
  #sendNext(now: number, clusterId: number): number {
    const first = this.#priority.shift();
    if (first) {
      this.#queueBytes -= first.size;
      try {
        first.send();
        this.#stats.packets++;
        this.#stats.bytes += first.size;
      } catch {
        this.#stats.sendErrors++;
      }
      return first.size;
    }
    const batch = this.#queue[0];
    if (!batch) return 0;
    const packet = batch.packets[batch.next++] as P;
    const size = this.#sizeOf(packet);
    this.#queueBytes -= size;
    this.#stats.maxWaitMs = Math.max(this.#stats.maxWaitMs, now - batch.enqueuedMs);
    try {
      this.#send(packet, clusterId);
      this.#stats.packets++;
      this.#stats.bytes += size;
    } catch {
      this.#stats.sendErrors++;
    }
    if (batch.next >= batch.packets.length) {
      this.#queue.shift();
      batch.done(true);
    }
    return size;
  }
}
