import type { QualityMessage } from '../../protocol/signaling.js';
import type { ClockOffsetEstimate } from './estimateClockOffset.js';
import type { StreamStats } from './hookTypes.js';

const fmt = (value: number | undefined, digits = 0, unit = ''): string =>
  value === undefined ? '–' : `${value.toFixed(digits)}${unit}`;

/**
 * The stats overlay's text: short lines (it sits beside the picture on a phone held sideways).
 * Glass-to-glass carries the clock estimate's uncertainty when there is one.
 */
export function formatStats(
  stats: StreamStats,
  encoder: string | undefined,
  clock: ClockOffsetEstimate | undefined,
  quality?: QualityMessage,
): string {
  const size = stats.width === undefined ? '–' : `${stats.width}×${stats.height}`;
  const mbps = stats.bitrateKbps === undefined ? undefined : stats.bitrateKbps / 1000;
  return [
    `${(stats.codec ?? 'video').replace('video/', '')} ${size} ${encoder ?? ''}`,
    `fps   ${fmt(stats.fps, 1)}  ${fmt(mbps, 2, ' Mb/s')}`,
    `rtt   ${fmt(stats.rttMs, 1, ' ms')}  in ${fmt(stats.inputRttMs, 1, ' ms')}`,
    `loss  ${fmt(stats.packetLossPct, 2, ' %')}  dec ${fmt(stats.decodeMs, 1, ' ms')}`,
    `jbuf  ${fmt(stats.jitterBufferMs, 1, ' ms')}`,
    `g2g   ${fmt(stats.glassToGlassMs, 1, ' ms')}${clock ? ` ±${clock.uncertaintyMs.toFixed(1)}` : ''}`,
    `frames ${stats.framesDecoded} drop ${stats.framesDropped} frz ${stats.freezeCount}`,
    ...(quality
      ? [
          `est   ${(quality.estimateKbps / 1000).toFixed(1)} → ${(quality.targetKbps / 1000).toFixed(1)} Mb/s${quality.capKbps === null ? '' : ` cap ${(quality.capKbps / 1000).toFixed(0)}`}`,
          `why   ${quality.reason}`,
        ]
      : []),
  ].join('\n');
}
