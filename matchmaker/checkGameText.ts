import { FarplayError } from '../protocol/errors.js';
import type { GameInfo } from '../protocol/playerApi.js';

/** Control characters, bidirectional overrides and isolates, and line/paragraph separators. */
const UNSAFE = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/u;

/**
 * Checks the text a catalogue shows of a game: a title of 1–120 characters that is not only spaces, a
 * description of at most 2,000, neither with control characters or direction overrides (a description
 * may break lines); button labels likewise; a picture URL that is http(s) or relative to the API.
 * Throws MM_BAD_GAME naming the field. (The page renders all of it as text, never as HTML.)
 */
export function checkGameText(game: GameInfo): void {
  const bad = (field: string, why: string): never => {
    throw new FarplayError('MM_BAD_GAME', `${field} ${why}`, { details: { field } });
  };
  const title = game.title;
  if (title.trim().length === 0) bad('title', 'is empty');
  if ([...title].length > 120) bad('title', 'is longer than 120 characters');
  if (UNSAFE.test(title)) bad('title', 'contains control or direction-override characters');
  if ([...game.description].length > 2000) bad('description', 'is longer than 2,000 characters');
  if (UNSAFE.test(game.description.replaceAll('\n', '')))
    bad('description', 'contains control or direction-override characters');
  for (const b of game.inputMap?.buttons ?? [])
    if (b.label.trim().length === 0 || UNSAFE.test(b.label))
      bad('inputMap.buttons.label', 'is empty or contains control characters');
  const url = game.thumbnailUrl;
  if (url !== undefined && !/^(https?:\/\/[^\s]+|\/(?!\/)[^\s]*)$/i.test(url))
    bad('thumbnailUrl', 'must be an http(s) URL or a path on the API');
}
