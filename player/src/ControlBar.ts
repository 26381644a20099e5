import type { GameInfo } from '../../protocol/playerApi.js';
import { AUTO_BITRATE_KBPS } from '../../protocol/signaling.js';
import { controlHint } from './controlHint.js';
import { el } from './el.js';
import { icon } from './icon.js';

/** Options of a ControlBar. */
export interface ControlBarOptions {
  game: GameInfo;
  /** A touch-only device: no keyboard/mouse hint. */
  touchOnly: boolean;
  /** Offer the pad toggle (the game has a pad and the device has a touch screen). */
  padToggle: boolean;
  statsOn: boolean;
  padOn: boolean;
  onBack: () => void;
  onStats: (on: boolean) => void;
  onPad: (on: boolean) => void;
  /** The bitrate chosen (kbit/s). */
  onBitrate: (kbps: number) => void;
  onFullscreen: () => void;
  /**
   * The game's surface (the stage): it gets the focus back, so the keys go to the game, after a
   * control clicked with a pointer (keyboard use keeps the focus on the control) and after Fullscreen
   * (the bar is not shown in fullscreen).
   */
  surface: HTMLElement;
}

/** A bar button: an icon and a label (the label hides on small screens; `aria-label` stays). */
function barButton(action: string, label: string, name: Parameters<typeof icon>[0]): HTMLButtonElement {
  return el(
    'button',
    { type: 'button', 'data-action': action, 'aria-label': label, title: label },
    icon(name),
    el('span', { class: 'label' }, label),
  );
}

function toggle(button: HTMLButtonElement, on: boolean, changed: (on: boolean) => void): void {
  button.setAttribute('aria-pressed', String(on));
  button.addEventListener('click', () => {
    const next = button.getAttribute('aria-pressed') !== 'true';
    button.setAttribute('aria-pressed', String(next));
    changed(next);
  });
}

/**
 * The play view's control bar: back, connection dot, title (the view's heading), the keys hint
 * (keyboard and mouse devices only; `#play-hint`, the stage's description), the `account` slot the
 * billing view fills with the wallet, then bitrate, stats, pad and fullscreen. Every control has an
 * accessible name; CSS turns the bar into a rail of icons on the left of a phone held sideways.
 */
export class ControlBar {
  readonly element: HTMLElement;
  /** The connection dot (`data-state` follows the view's state). */
  readonly dot: HTMLElement;

  constructor(options: ControlBarOptions) {
    const { game } = options;
    const back = barButton('back', 'Games', 'back');
    back.setAttribute('aria-label', 'Back to games');
    back.addEventListener('click', options.onBack);
    this.dot = el('span', {
      class: 'status-dot',
      'data-state': 'starting',
      role: 'img',
      'aria-label': 'Connection: starting',
    });
    const stats = barButton('stats', 'Stats', 'stats');
    toggle(stats, options.statsOn, options.onStats);
    const pad = barButton('touch', 'Pad', 'pad');
    pad.setAttribute('aria-label', 'Touch pad');
    pad.hidden = !options.padToggle;
    toggle(pad, options.padOn, options.onPad);
    const quality = el('select', {
      'data-action': 'bitrate',
      'aria-label': 'Video bitrate cap',
      title: 'Video bitrate cap (auto adapts to the network)',
    });
    // A cap on the adaptive bitrate; Auto asks for the edge's maximum (the edge clamps to it).
    quality.append(el('option', { value: String(AUTO_BITRATE_KBPS), selected: '' }, 'Auto'));
    for (const [label, kbps] of [
      ['≤ 2 Mb/s', '2000'],
      ['≤ 4 Mb/s', '4000'],
      ['≤ 8 Mb/s', '8000'],
      ['≤ 15 Mb/s', '15000'],
    ] as const) {
      quality.append(el('option', { value: kbps }, label));
    }
    quality.addEventListener('change', () => {
      if (quality.value !== '') options.onBitrate(Number(quality.value));
    });
    const fullscreen = barButton('fullscreen', 'Fullscreen', 'fullscreen');
    fullscreen.addEventListener('click', () => {
      options.onFullscreen();
      options.surface.focus({ preventScroll: true });
    });
    const hintText = controlHint(game, { touchOnly: options.touchOnly });
    const hint = el('span', { class: 'hint', id: 'play-hint' }, hintText ?? '');
    hint.hidden = hintText === undefined;
    const account = el('div', { class: 'account', 'data-slot': 'account' });
    account.hidden = true;
    this.element = el(
      'div',
      { class: 'play-bar', role: 'group', 'aria-label': 'Game controls' },
      back,
      this.dot,
      el('h1', { class: 'title' }, game.title),
      hint,
      account,
      el('div', { class: 'bar-controls' }, quality, stats, pad, fullscreen),
    );
    this.element.addEventListener('click', (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (event.detail === 0 || target?.closest('select, input, textarea') || !options.surface.isConnected)
        return;
      options.surface.focus({ preventScroll: true });
    });
  }
}
