import type { QosMetrics } from '../../protocol/eip712.js';
import type { SessionPeriod } from './SessionStats.js';

/**
 * The edge's side of one minute's signed QoS report: frames sent, bitrate, median encode time (µs), RTT,
 * jitter and loss from the player's receiver reports. Freezes are the player's to measure: 0 here.
 */
export function toQosMetrics(period: SessionPeriod): QosMetrics {
  const u32 = (value: number): number => Math.max(0, Math.min(0xffff_ffff, Math.round(value)));
  return {
    frames: u32(period.framesSent),
    bitrateKbps: u32(period.bitrateKbps),
    encodeTimeUs: u32(period.encodeMs.p50 * 1000),
    rttMs: u32(period.rttMs ?? 0),
    jitterMs: u32(period.jitterMs ?? 0),
    lossPpm: u32(period.lossPpm),
    freezeMs: 0,
  };
}
