import { type RunStatusFigures, renderRunStatus } from '../operator/renderRunStatus.js';
import type { RunningEdge } from '../runEdge.js';

export interface StartRunStatusParameters {
  running: RunningEdge;
  /** Where a terminal's line is redrawn (stderr: pino's log lines go to stdout). */
  stream: NodeJS.WriteStream;
  /** Redraw period on a terminal, ms (default 1000). */
  redrawMs?: number;
  /** Log-line period off a terminal, ms (default 60 000). */
  logEveryMs?: number;
  /** How often the attested minutes are re-read from the checkers and the escrow, ms (default 30 000). */
  refreshMs?: number;
}

/**
 * `farplay-edge run`'s status line: redrawn in place every second on a terminal, otherwise an info log line every
 * minute (journald, docker logs). Stops with the edge.
 */
export function startRunStatus(p: StartRunStatusParameters): { close(): void } {
  const { edge, billing, logger } = p.running;
  const figures = (): RunStatusFigures => {
    const info = edge.info();
    return {
      edgeId: edge.id,
      sessions: info.activeSessions,
      capacity: info.capacity,
      streaming: edge.stats().sessions.filter((s) => s.state === 'streaming').length,
      encodeHeadroom: info.encodeHeadroom,
      ...(billing
        ? {
            today: billing.agent.today(),
            pending: billing.agent.status().reduce((sum, s) => sum + s.pending, 0),
          }
        : {}),
    };
  };
  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, run: () => void) => {
    const timer = setInterval(run, ms);
    timer.unref();
    timers.push(timer);
  };
  // Attested minutes move when checkers attest, not only when the agent settles: read them now and then.
  if (billing) every(p.refreshMs ?? 30_000, () => void billing.agent.refresh().catch(() => {}));
  const tty = p.stream.isTTY === true;
  if (tty) {
    const draw = () => p.stream.write(`\r\u001b[2K${renderRunStatus(figures(), p.stream.columns)}`);
    draw();
    every(p.redrawMs ?? 1000, draw);
  } else {
    const log = () => {
      const f = figures();
      logger.info({ status: f }, renderRunStatus(f));
    };
    every(p.logEveryMs ?? 60_000, log);
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const timer of timers) clearInterval(timer);
    if (tty) p.stream.write('\r\u001b[2K');
  };
  p.running.onStop(close);
  return { close };
}
