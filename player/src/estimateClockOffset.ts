// DOM-free (unit-tested in Node): the page↔edge clock arithmetic behind glass-to-glass latency.

/** One request/answer exchange with the edge: page send and receive times, and the edge's time in between. */
export interface ClockSample {
  /** Page clock (unix ms: `performance.timeOrigin + performance.now()`) when the request left. */
  sentAt: number;
  /** Edge clock (unix ms, its `Date.now()`) when it answered. */
  edgeTime: number;
  /** Page clock when the answer arrived. */
  receivedAt: number;
}

/** What `estimateClockOffset` concludes. */
export interface ClockOffsetEstimate {
  /** Edge clock − page clock, ms: a page time t is edge time t + offsetMs. */
  offsetMs: number;
  /** The true offset lies within ± this (half the round trip of the sample used), ms. */
  uncertaintyMs: number;
  /** Round trip of the sample used, ms. */
  rttMs: number;
}

/**
 * NTP-style estimate of the edge's clock offset from request/answer exchanges: each sample says the
 * edge read `edgeTime` somewhere between `sentAt` and `receivedAt`, so offset = edgeTime − midpoint,
 * wrong by at most half the round trip (all of it spent on one leg). Only the sample with the smallest
 * round trip is used (minimum-RTT filter): queueing delay is what makes legs unequal, and the fastest
 * exchange has the least of it. Undefined for no usable sample (negative or non-finite round trips).
 */
export function estimateClockOffset(samples: readonly ClockSample[]): ClockOffsetEstimate | undefined {
  let best: ClockSample | undefined;
  let bestRtt = Number.POSITIVE_INFINITY;
  for (const sample of samples) {
    const rtt = sample.receivedAt - sample.sentAt;
    if (!Number.isFinite(rtt) || !Number.isFinite(sample.edgeTime) || rtt < 0) continue;
    if (rtt < bestRtt) {
      best = sample;
      bestRtt = rtt;
    }
  }
  if (best === undefined) return undefined;
  return {
    offsetMs: best.edgeTime - (best.sentAt + best.receivedAt) / 2,
    uncertaintyMs: bestRtt / 2,
    rttMs: bestRtt,
  };
}
