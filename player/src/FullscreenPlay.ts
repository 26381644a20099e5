import { el } from './el.js';
import { enterFullscreen } from './enterFullscreen.js';
import { icon } from './icon.js';

/** Options of a FullscreenPlay. */
export interface FullscreenPlayOptions {
  /** A touch-only device: play fills the screen in landscape; otherwise the stage alone goes fullscreen. */
  touchOnly: boolean;
  /** What goes fullscreen on a keyboard-and-mouse device (the stage: the picture alone). */
  stage: HTMLElement;
  /** The prompt appeared or went away (the layout makes or gives back room for it). */
  onPromptChange: () => void;
}

/**
 * Fullscreen and orientation for the play view. On a touch-only device, play goes fullscreen (the whole
 * page, so the control bar stays reachable) and asks the Screen Orientation API for landscape; where
 * the browser cannot lock it and the device is held upright, `prompt` (an element for the side panel)
 * asks the player to turn it, until they do or dismiss it. On a desktop, the stage alone goes
 * fullscreen, with Keyboard Lock. `close()` leaves fullscreen and stops listening (idempotent).
 */
export class FullscreenPlay {
  /** The "turn your device" prompt (hidden unless needed). */
  readonly prompt: HTMLElement;
  readonly #options: FullscreenPlayOptions;
  readonly #portrait = window.matchMedia('(orientation: portrait)');
  readonly #onOrientation = () => this.#update();
  #locked = false;
  #dismissed = false;
  #closed = false;

  constructor(options: FullscreenPlayOptions) {
    this.#options = options;
    const dismiss = el(
      'button',
      { type: 'button', 'data-action': 'dismiss-rotate', 'aria-label': 'Dismiss' },
      icon('close'),
    );
    dismiss.addEventListener('click', () => {
      this.#dismissed = true;
      this.#update();
    });
    this.prompt = el(
      'div',
      { class: 'rotate-prompt', role: 'note' },
      el('span', {}, 'Turn your device sideways for a bigger picture.'),
      dismiss,
    );
    this.prompt.hidden = true;
    this.#portrait.addEventListener('change', this.#onOrientation);
  }

  /** Enters fullscreen as fits the device (call while the click that started play still counts). */
  async enter(): Promise<void> {
    if (!this.#options.touchOnly) {
      await enterFullscreen(this.#options.stage, { landscape: false });
      return;
    }
    const result = await enterFullscreen(document.documentElement, { landscape: true });
    this.#locked = result.landscapeLocked;
    this.#update();
  }

  /** Leaves fullscreen when in it, enters it otherwise. */
  toggle(): void {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else void this.enter();
  }

  /** Leaves fullscreen and stops listening (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#portrait.removeEventListener('change', this.#onOrientation);
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  }

  #update(): void {
    if (this.#closed) return;
    const show = this.#options.touchOnly && !this.#locked && !this.#dismissed && this.#portrait.matches;
    if (this.prompt.hidden === !show) return;
    this.prompt.hidden = !show;
    this.#options.onPromptChange();
  }
}
