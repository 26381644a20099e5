import type { GameInfo } from '../../protocol/playerApi.js';
import { el } from './el.js';

const PALETTES = [
  ['#1f6feb', '#7ee787'],
  ['#a371f7', '#ff7b72'],
  ['#f0883e', '#ffd33d'],
  ['#2ea043', '#39c5cf'],
  ['#db61a2', '#79c0ff'],
];

function initials(title: string): string {
  return title
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => word[0]?.toUpperCase() ?? '')
    .join('');
}

function formatPrice(wei: string): string {
  // ATH has 18 decimals; show up to 4 significant decimals.
  const value = Number(BigInt(wei)) / 1e18;
  if (value === 0) return 'free';
  return `${value < 0.0001 ? value.toExponential(1) : value.toFixed(4).replace(/\.?0+$/, '')} ATH/min`;
}

/** Parameters of `gameCard`. */
export interface GameCardParameters {
  game: GameInfo;
  /** Position in the catalogue (picks the fallback gradient). */
  index: number;
  /** The API base that relative thumbnail URLs resolve against. */
  apiBase: string;
}

/**
 * One catalogue tile (`.game-card`, a list item): its heading holds the link to `#/play/<id>`, named
 * by the title and described by the description, and stretched over the whole card (CSS), so a click
 * anywhere plays, Tab reaches one link per game, Enter follows it as any link, and Space starts the
 * game too, as on a button. The picture, the chips and the Play badge are decoration.
 */
export function gameCard({ game, index, apiBase }: GameCardParameters): HTMLLIElement {
  const [from, to] = PALETTES[index % PALETTES.length] ?? ['#333', '#555'];
  const art = el('div', { class: 'game-art', 'aria-hidden': 'true' }, initials(game.title));
  art.style.background = `linear-gradient(135deg, ${from}, ${to})`;
  if (game.thumbnailUrl !== undefined) {
    // A real frame of the game (the edge renders it, or the studio's own picture); the letters on a
    // gradient stay underneath for a picture that does not load.
    const picture = el('img', { alt: '', decoding: 'async' });
    picture.src = new URL(game.thumbnailUrl, `${apiBase}/`).toString();
    picture.addEventListener('error', () => picture.remove());
    art.append(picture);
  }
  const descriptionId = `game-description-${index}`;
  const meta = el('div', { class: 'game-meta' });
  for (const text of [
    `${game.width}×${game.height}`,
    `${game.fps} fps`,
    ...game.input,
    formatPrice(game.pricePerMinute),
  ]) {
    meta.append(el('span', { class: 'chip' }, text));
  }
  const link = el(
    'a',
    {
      class: 'game-link',
      href: `#/play/${encodeURIComponent(game.id)}`,
      'data-game-id': game.id,
      'aria-describedby': descriptionId,
    },
    game.title,
  );
  link.addEventListener('keydown', (event) => {
    // Links follow Enter by themselves; Space starts the game too, as on a button.
    if (event.key !== ' ' || event.repeat) return;
    event.preventDefault();
    link.click();
  });
  return el(
    'li',
    { class: 'game-card', 'data-game-id': game.id },
    art,
    el('h2', {}, link),
    el('p', { id: descriptionId }, game.description),
    meta,
    el('span', { class: 'play-cta', 'aria-hidden': 'true' }, '▶ Play'),
  );
}
