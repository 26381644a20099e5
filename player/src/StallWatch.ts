/**
 * Tells when to ask the edge for a keyframe: no frame was decoded for a second while playing (a lost keyframe or
 * a decoder stuck after loss); at most once every 2 s. The browser's own PLI usually gets there first; this covers
 * the cases it does not.
 */
export class StallWatch {
  #last = { frames: -1, at: 0 };
  #askedAt = 0;

  /** Feed the decoded-frame count at each stats sample; true when a keyframe should be asked for now. */
  check(framesDecoded: number, playing: boolean, now = performance.now()): boolean {
    if (!playing || framesDecoded !== this.#last.frames) {
      this.#last = { frames: framesDecoded, at: now };
      return false;
    }
    if (now - this.#last.at < 1000 || now - this.#askedAt < 2000) return false;
    this.#askedAt = now;
    return true;
  }
}
