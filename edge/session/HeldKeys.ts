import { HELD_KEY_RELEASE_MS, type InputMessage } from '../../protocol/input.js';

/** What HeldKeys decided about one key message: pass it to the game, a refresh, or older than what the key already saw. */
export type HeldKeyVerdict = 'apply' | 'refresh' | 'stale';

/** `a` was sent before `b` (u32 sequence numbers that wrap). */
function seqBefore(a: number, b: number): boolean {
  const d = (b - a) >>> 0;
  return d !== 0 && d < 0x8000_0000;
}

/**
 * The edge's side of held keys (protocol/input.ts): which keys the player holds and when each was last
 * pressed or refreshed. A keyDown of a key already down is a refresh (the game never sees it as a second
 * press); on the unordered channel a key message older (by seq) than the key's last one is stale and
 * dropped, so a late refresh cannot press a released key again. `stale()` hands out, once, the keys whose
 * refresh has not come for `releaseMs` (their keyUp was lost) for the caller to release.
 */
export class HeldKeys {
  readonly #releaseMs: number;
  /** key → when it was last pressed or refreshed (ms). */
  readonly #held = new Map<number, number>();
  /** key → seq of the last message applied for it. */
  readonly #lastSeq = new Map<number, number>();

  constructor(releaseMs = HELD_KEY_RELEASE_MS) {
    this.#releaseMs = releaseMs;
  }

  /** Number of keys held. */
  get size(): number {
    return this.#held.size;
  }

  /** Records a key message at `nowMs` and says what to do with it. */
  accept(message: InputMessage, nowMs: number): HeldKeyVerdict {
    if (message.type !== 'keyDown' && message.type !== 'keyUp') return 'apply';
    const last = this.#lastSeq.get(message.key);
    if (last !== undefined && seqBefore(message.seq, last)) return 'stale';
    this.#lastSeq.set(message.key, message.seq);
    if (message.type === 'keyUp') {
      this.#held.delete(message.key);
      return 'apply';
    }
    const refresh = this.#held.has(message.key);
    this.#held.set(message.key, nowMs);
    return refresh ? 'refresh' : 'apply';
  }

  /** Keys not refreshed since `nowMs - releaseMs`; they are forgotten (the caller releases them). */
  stale(nowMs: number): number[] {
    const out: number[] = [];
    for (const [key, at] of this.#held) {
      if (nowMs - at >= this.#releaseMs) {
        this.#held.delete(key);
        out.push(key);
      }
    }
    return out;
  }
}
