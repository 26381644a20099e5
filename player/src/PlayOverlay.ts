import { el } from './el.js';
import { type OverlayAction, overlayBox } from './overlayBox.js';

/**
 * The play view's overlay over the stage (progress, a lost stream, the end of a session), a status
 * region screen readers announce. Keyboard focus follows it: when a card with actions appears while
 * the game had the focus, its first action takes it (the game's keys would not reach the buttons
 * otherwise); when the overlay goes away with the focus inside it, the focus goes back to the game.
 */
export class PlayOverlay {
  readonly element: HTMLElement;
  readonly #game: HTMLElement;

  /** `game`: the element that has the focus while playing (the stage). */
  constructor(game: HTMLElement) {
    this.#game = game;
    this.element = el('div', { class: 'overlay', role: 'status' });
  }

  show(title: string, text: string, actions: OverlayAction[] = [], busy = false): void {
    const active = document.activeElement;
    const gameHadFocus =
      active === null || active === document.body || active === this.#game || this.element.contains(active);
    this.element.replaceChildren(overlayBox(title, text, actions, busy));
    this.element.hidden = false;
    if (gameHadFocus && actions.length > 0) this.element.querySelector('button')?.focus();
  }

  hide(): void {
    const hadFocus = this.element.contains(document.activeElement);
    this.element.hidden = true;
    this.element.replaceChildren();
    if (hadFocus || document.activeElement === document.body) this.#game.focus({ preventScroll: true });
  }
}
