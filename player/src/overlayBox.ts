import { el } from './el.js';

/** A button of the play view's overlay; `data-action` is its label in lower case (tests click by it). */
export interface OverlayAction {
  label: string;
  primary?: boolean;
  run: () => void;
}

/** The play view's overlay card: a title, a sentence, optional actions and an optional spinner. */
export function overlayBox(
  title: string,
  text: string,
  actions: OverlayAction[],
  busy: boolean,
): HTMLElement {
  const box = el('div', { class: 'overlay-box' });
  if (busy) box.append(el('div', { class: 'spinner', 'aria-hidden': 'true' }));
  box.append(el('h2', {}, title), el('p', {}, text));
  if (actions.length > 0) {
    const row = el('div', { class: 'overlay-actions' });
    for (const action of actions) {
      const button = el(
        'button',
        { type: 'button', class: action.primary ? 'primary' : '', 'data-action': action.label.toLowerCase() },
        action.label,
      );
      button.addEventListener('click', action.run);
      row.append(button);
    }
    box.append(row);
  }
  return box;
}
