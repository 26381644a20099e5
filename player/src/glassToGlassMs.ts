// DOM-free (unit-tested in Node).
import type { ClockOffsetEstimate } from './estimateClockOffset.js';

/**
 * Glass-to-glass latency of one frame, ms: when the page shows it (page clock, unix ms) minus when the
 * edge captured it (edge clock, unix ms, from the frame stamp), with the capture time moved onto the
 * page's clock by the estimated offset (none: the clocks are taken as equal). Never negative: a frame
 * cannot be shown before it was made, so a negative result is the estimate's error and counts as 0.
 */
export function glassToGlassMs(
  displayedAt: number,
  capturedAtEdge: number,
  offset: ClockOffsetEstimate | undefined,
): number {
  const capturedAt = capturedAtEdge - (offset?.offsetMs ?? 0);
  return Math.max(0, displayedAt - capturedAt);
}
