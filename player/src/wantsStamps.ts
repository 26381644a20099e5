import type { PlaySession } from './PlaySession.js';
import { rememberedChoice } from './rememberedChoice.js';

/** 'on' in localStorage `farplay.stamps` makes every session ask for frame stamps (benchmarks, tests). */
const measureChoice = rememberedChoice('farplay.stamps');

/**
 * Whether the page asks the edge for frame stamps: while the stats overlay (glass-to-glass, input-to-photon)
 * is open, or always when a benchmark set `farplay.stamps`. Without them the picture has no strip.
 */
export function wantsStamps(statsOpen: boolean): boolean {
  return statsOpen || measureChoice.get(false);
}

/** Tells the edge of `session` whether to stamp frames (`stamps` message), per `wantsStamps`. */
export function askForStamps(session: PlaySession | undefined, statsOpen: boolean): void {
  session?.control({ type: 'stamps', on: wantsStamps(statsOpen) });
}
