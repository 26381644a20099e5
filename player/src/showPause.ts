import type { PlayOverlay } from './PlayOverlay.js';
import type { PlaySessionReason } from './PlaySession.js';

/**
 * The edge paused the stream (billing: no grant, or the page's QoS reports have not reached the checkers) or
 * resumed it: the reason and its code over the picture until the stream comes back.
 */
export function showPause(overlay: PlayOverlay, why: PlaySessionReason | null): void {
  if (why === null) overlay.hide();
  else overlay.show('Stream paused', `${why.message}${why.code ? ` (${why.code})` : ''}`, [], true);
}
