import type { MinuteProbe } from '../protocol/evaluateMinute.js';

/**
 * A minute's probe figure, as anyone re-computes it from the evidence: the smallest RTT of the checker's successful
 * RTT probes of the edge taken within the minute (`from ≤ at < to`, i.e. `openedAt + m·period ≤ at < openedAt +
 * (m+1)·period`), from the probes' stored JSON.
 */
export function minuteProbe(probes: readonly string[], from: number, to: number): MinuteProbe | undefined {
  let best: number | undefined;
  for (const json of probes) {
    const p = JSON.parse(json) as { kind?: string; ok?: boolean; at?: number; rttMs?: number };
    if (p.kind !== 'rtt' || p.ok !== true || typeof p.rttMs !== 'number' || typeof p.at !== 'number')
      continue;
    if (p.at < from || p.at >= to) continue;
    best = best === undefined ? p.rttMs : Math.min(best, p.rttMs);
  }
  return best === undefined ? undefined : { rttMs: best };
}
