import type { GameInfo } from '../../protocol/playerApi.js';

const KEY_NAMES: Record<string, string> = { Space: 'Space', Enter: 'Enter', Escape: 'Esc' };

/**
 * The one-line hint for a player at a keyboard and mouse: the game's keys (from its input map) and,
 * for games that read the mouse, how the pointer is captured and released. Undefined on touch-only
 * devices, where the on-screen pad shows the controls and there is no mouse to capture.
 */
export function controlHint(game: GameInfo, device: { touchOnly: boolean }): string | undefined {
  if (device.touchOnly) return undefined;
  const parts: string[] = [];
  if (game.input.includes('keyboard')) {
    const dpad = game.inputMap?.dpad ?? 'all';
    if (dpad === 'horizontal') parts.push('← → move');
    else if (dpad === 'vertical') parts.push('↑ ↓ move');
    else if (dpad === 'all') parts.push('Arrow keys move');
    for (const button of game.inputMap?.buttons ?? []) {
      const key = KEY_NAMES[button.key] ?? button.key.replace(/^Key|^Digit/, '');
      parts.push(`${key}: ${button.label}`);
    }
  }
  if (game.input.includes('mouse')) parts.push('Click the game to capture the mouse · Esc releases it');
  return parts.length === 0 ? undefined : parts.join(' · ');
}
