import type { DayTotals } from '../billing/SettlementAgent.js';

/** What the `farplay-edge run` status line shows. */
export interface RunStatusFigures {
  edgeId: string;
  /** Sessions open, of `capacity`; how many stream now. */
  sessions: number;
  capacity: number;
  streaming: number;
  /** Share of the machine's cores the encoders leave free, 0..1. */
  encodeHeadroom: number;
  /** Today's (UTC) settlement minutes; undefined when the edge does not bill. */
  today?: DayTotals;
  /** Minutes attested and not paid yet, over the tracked sessions. */
  pending?: number;
}

/**
 * One status line: sessions, encode headroom and today's minutes (played, attested, paid, pending), cut to `width`
 * characters when given (a terminal line that wraps cannot be redrawn in place).
 */
export function renderRunStatus(f: RunStatusFigures, width?: number): string {
  const parts = [
    `edge ${f.edgeId.slice(0, 10)}…`,
    `sessions ${f.sessions}/${f.capacity}${f.sessions > 0 ? ` (${f.streaming} streaming)` : ''}`,
    `encode headroom ${Math.round(f.encodeHeadroom * 100)} %`,
    f.today === undefined
      ? 'billing off'
      : `today ${f.today.played} min played, ${f.today.attested} attested, ${f.today.paid} paid${f.pending ? `, ${f.pending} pending` : ''}`,
  ];
  const line = parts.join(' · ');
  if (width === undefined || width <= 0 || line.length <= width) return line;
  return width <= 1 ? line.slice(0, width) : `${line.slice(0, width - 1)}…`;
}
