import { EDGE_TIME_HEADER } from '../../protocol/playerApi.js';
import { type ClockOffsetEstimate, type ClockSample, estimateClockOffset } from './estimateClockOffset.js';

/** Options of an EdgeClock. */
export interface EdgeClockOptions {
  /** The edge's RTT probe URL (`/v1/probe`), which answers with its clock in `x-farplay-edge-time`. */
  probeUrl: string;
  /** Exchanges kept for the minimum-RTT filter (default 16). */
  window?: number;
  /** Pause between exchanges once the first burst is done, ms (default 2000). */
  periodMs?: number;
  /** Exchanges sent back to back at start (default 5). */
  burst?: number;
}

/** The page's clock as unix ms, on the same base as frame display times (`performance`). */
const pageNow = (): number => performance.timeOrigin + performance.now();

/**
 * Keeps an estimate of the offset between this page's clock and an edge's (`estimateClockOffset` over
 * the last exchanges with the edge's probe), so latencies that span both clocks are true even when the
 * two machines' clocks disagree. A burst of exchanges at start, then one every `periodMs`. An edge
 * that does not send its clock leaves the estimate undefined. `close()` stops it (idempotent).
 */
export class EdgeClock {
  readonly #options: EdgeClockOptions;
  readonly #samples: ClockSample[] = [];
  #estimate: ClockOffsetEstimate | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: EdgeClockOptions) {
    this.#options = options;
    void this.#run(options.burst ?? 5);
  }

  /** The current estimate (edge − page, ms), or undefined before the first answer with a clock. */
  get estimate(): ClockOffsetEstimate | undefined {
    return this.#estimate;
  }

  /** Stops probing (idempotent). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #run(burst: number): Promise<void> {
    for (let i = 0; i < burst && !this.#closed; i++) {
      if (!(await this.#exchange())) return; // no clock on this edge, or unreachable: stop
    }
    const next = () => {
      if (this.#closed) return;
      this.#timer = setTimeout(() => {
        void this.#exchange().then((ok) => {
          if (ok) next();
        });
      }, this.#options.periodMs ?? 2000);
    };
    next();
  }

  async #exchange(): Promise<boolean> {
    const sentAt = pageNow();
    let edgeTime: number;
    try {
      const response = await fetch(this.#options.probeUrl, {
        cache: 'no-store',
        mode: 'cors',
        signal: AbortSignal.timeout(2000),
      });
      const receivedAt = pageNow();
      await response.arrayBuffer();
      edgeTime = Number(response.headers.get(EDGE_TIME_HEADER) ?? Number.NaN);
      if (!response.ok || !Number.isFinite(edgeTime) || this.#closed) return false;
      this.#samples.push({ sentAt, edgeTime, receivedAt });
    } catch {
      return !this.#closed; // a lost exchange: try again later
    }
    const window = this.#options.window ?? 16;
    if (this.#samples.length > window) this.#samples.splice(0, this.#samples.length - window);
    this.#estimate = estimateClockOffset(this.#samples);
    return true;
  }
}
