/** Key presses not seen in a stamp within this time are forgotten, ms. */
const PENDING_KEY_TTL_MS = 5000;
/** Key presses remembered at most. */
const MAX_PENDING_KEYS = 256;

/**
 * Input-to-photon: remembers when each key press was sent (by input seq) and, for each displayed frame
 * whose stamp shows the last input the edge applied, gives the time from each press it covers to that
 * frame's display. Presses never seen within PENDING_KEY_TTL_MS are dropped.
 */
export class InputToPhoton {
  readonly #pending: { seq: number; sentAt: number }[] = [];

  /** A key press with input `seq` was sent at `sentAt` (performance.now()). */
  sent(seq: number, sentAt: number): void {
    this.#pending.push({ seq, sentAt });
    if (this.#pending.length > MAX_PENDING_KEYS) this.#pending.shift();
  }

  /** A frame stamped with `inputSeq` is displayed at `displayTime`: calls `sample` with each press's ms. */
  shown(inputSeq: number, displayTime: number, sample: (ms: number) => void): void {
    const pending = this.#pending;
    for (let first = pending[0]; first !== undefined; first = pending[0]) {
      if (first.seq <= inputSeq) sample(displayTime - first.sentAt);
      else if (displayTime - first.sentAt <= PENDING_KEY_TTL_MS) break;
      pending.shift();
    }
  }
}
