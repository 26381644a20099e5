/** Window of receive times the acknowledged rate is measured over, ms. */
const WINDOW_MS = 250;
/** Shortest span that gives a rate at all, ms. */
const MIN_SPAN_MS = 100;

/**
 * The rate the receiver acknowledges: bytes of received packets over the last 250 ms of their arrival
 * times (the receiver's clock), undefined until 100 ms of arrivals were seen.
 */
export class AckedBitrateEstimator {
  readonly #arrivals: number[] = [];
  readonly #sizes: number[] = [];
  #bytes = 0;

  /** Adds one received packet (arrival on the receiver's clock, ms). */
  onPacket(arrivalTimeMs: number, size: number): void {
    const last = this.#arrivals[this.#arrivals.length - 1];
    if (last !== undefined && arrivalTimeMs < last - WINDOW_MS) {
      // The receiver's clock went back: start over.
      this.#arrivals.length = 0;
      this.#sizes.length = 0;
      this.#bytes = 0;
    }
    this.#arrivals.push(arrivalTimeMs);
    this.#sizes.push(size);
    this.#bytes += size;
    const newest = Math.max(arrivalTimeMs, last ?? arrivalTimeMs);
    while (this.#arrivals.length > 1 && (this.#arrivals[0] ?? newest) < newest - WINDOW_MS) {
      this.#arrivals.shift();
      this.#bytes -= this.#sizes.shift() ?? 0;
    }
  }

  /** Acknowledged bits per second, or undefined. */
  get bps(): number | undefined {
    const first = this.#arrivals[0];
    const last = this.#arrivals[this.#arrivals.length - 1];
    if (first === undefined || last === undefined) return undefined;
    const span = last - first;
    if (span < MIN_SPAN_MS) return undefined;
    // The first packet opens the window; its bytes arrived before it.
    return ((this.#bytes - (this.#sizes[0] ?? 0)) * 8 * 1000) / span;
  }
}
