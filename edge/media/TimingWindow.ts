/** Percentiles of a timing window, ms. */
export interface TimingSummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * The last `capacity` samples of a per-frame timing, in a preallocated ring (recording allocates
 * nothing; `summary()` sorts a copy and is meant for stats calls, not the frame path).
 */
export class TimingWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(capacity = 2048) {
    this.#samples = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** Appends this window's samples to `out` (for merging several windows). */
  collect(out: number[]): void {
    for (let i = 0; i < this.#count; i++) out.push(this.#samples[i] ?? 0);
  }

  clear(): void {
    this.#next = 0;
    this.#count = 0;
  }

  summary(): TimingSummary {
    const values: number[] = [];
    this.collect(values);
    return summarize(values);
  }
}

/** Percentiles (nearest rank) of `values`, which it sorts in place; zeros when empty. */
export function summarize(values: number[]): TimingSummary {
  if (values.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  values.sort((a, b) => a - b);
  const at = (q: number): number =>
    values[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)] ?? 0;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    count: values.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(values[values.length - 1] ?? 0),
  };
}
