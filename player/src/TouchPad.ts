import type { GameInfo } from '../../protocol/playerApi.js';

/** Options of a TouchPad. */
export interface TouchPadOptions {
  game: GameInfo;
  /** A pad key went down (`KeyboardEvent.code`). */
  press: (code: string) => void;
  /** A pad key went up. */
  release: (code: string) => void;
}

type PadLayout = NonNullable<GameInfo['inputMap']>;

/** The pad when the game names none: what the built-in pad always was (arrows, A = Space, B = Enter). */
const DEFAULT_MAP: Required<PadLayout> = {
  dpad: 'all',
  buttons: [
    { label: 'A', key: 'Space' },
    { label: 'B', key: 'Enter' },
  ],
};

/** The arrows, with their grid cell in a 4-way d-pad and in a 2-way one (row / column). */
const ARROWS = [
  { code: 'ArrowUp', label: '▲', name: 'Up', area: '1 / 2', alone: '1 / 1', axis: 'vertical' },
  { code: 'ArrowLeft', label: '◀', name: 'Left', area: '2 / 1', alone: '1 / 1', axis: 'horizontal' },
  { code: 'ArrowRight', label: '▶', name: 'Right', area: '2 / 3', alone: '1 / 3', axis: 'horizontal' },
  { code: 'ArrowDown', label: '▼', name: 'Down', area: '3 / 2', alone: '2 / 1', axis: 'vertical' },
] as const;

/**
 * The on-screen pad for touch screens, laid out from the game's input map (`GameInfo.inputMap`): a
 * d-pad with only the arrows the game reads (left/right only for Breakout) in the left cluster, the
 * game's buttons (primary largest, labelled with what they do) in the right one. A game that reads no
 * keyboard or gamepad gets no pad (touches on the picture are its input). Held keys are released on
 * pointer up, cancel and leave.
 */
export class TouchPad {
  /** The pad element (two clusters); empty when the game needs no pad. */
  readonly element: HTMLElement;
  /** The d-pad cluster (bottom left). */
  readonly left: HTMLElement;
  /** The buttons cluster (bottom right). */
  readonly right: HTMLElement;
  /** False when the game reads neither keyboard nor gamepad: nothing to show. */
  readonly useful: boolean;
  readonly #options: TouchPadOptions;

  constructor(options: TouchPadOptions) {
    this.#options = options;
    const { game } = options;
    const map = game.inputMap ?? {};
    this.useful = game.input.includes('keyboard') || game.input.includes('gamepad');
    const dpad = this.useful ? (map.dpad ?? DEFAULT_MAP.dpad) : 'none';
    const buttons = this.useful ? (map.buttons ?? (game.inputMap ? [] : DEFAULT_MAP.buttons)) : [];

    this.left = document.createElement('div');
    this.left.className = `dpad dpad-${dpad}`;
    for (const arrow of ARROWS) {
      if (dpad === 'none' || (dpad !== 'all' && arrow.axis !== dpad)) continue;
      this.left.append(
        this.#button(arrow.label, arrow.code, arrow.name, dpad === 'all' ? arrow.area : arrow.alone),
      );
    }
    this.right = document.createElement('div');
    this.right.className = 'face';
    for (const [index, button] of buttons.entries()) {
      const b = this.#button(button.label, button.key, button.label, 'auto');
      if (index === 0) b.classList.add('primary');
      this.right.append(b);
    }
    this.element = document.createElement('div');
    this.element.className = 'touch-controls';
    this.element.setAttribute('role', 'group');
    this.element.setAttribute('aria-label', 'Touch controls');
    this.element.append(this.left, this.right);
  }

  #button(label: string, code: string, name: string, area: string): HTMLButtonElement {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.key = code;
    b.setAttribute('aria-label', name);
    // A stand-in for keys under a finger: the keyboard has the real keys, so Tab skips it.
    b.tabIndex = -1;
    b.style.gridArea = area;
    const press = (event: Event) => {
      event.preventDefault();
      b.classList.add('down');
      this.#options.press(code);
    };
    const release = (event: Event) => {
      event.preventDefault();
      if (!b.classList.contains('down')) return;
      b.classList.remove('down');
      this.#options.release(code);
    };
    b.addEventListener('pointerdown', press);
    b.addEventListener('pointerup', release);
    b.addEventListener('pointercancel', release);
    b.addEventListener('pointerleave', release);
    return b;
  }
}
