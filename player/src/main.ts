import './styles/index.css';
import type { GameInfo } from '../../protocol/playerApi.js';
import { PlayerApi } from './api.js';
import { PlayView } from './PlayView.js';
import { hook } from './testHook.js';

/**
 * The Farplay player: catalog (`#/`) and play view (`#/play/<gameId>`).
 * The API base is the page's origin unless `?api=<url>` or `<meta name="farplay-api" content=...>`
 * says otherwise; ICE servers may be given as JSON in `<meta name="farplay-ice-servers">`.
 */
function readConfig(): { apiBase: string; iceServers: RTCIceServer[] | undefined } {
  const params = new URLSearchParams(window.location.search);
  const meta = (name: string) =>
    document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content.trim() || undefined;
  let iceServers: RTCIceServer[] | undefined;
  const ice = meta('farplay-ice-servers');
  if (ice !== undefined) {
    try {
      iceServers = JSON.parse(ice) as RTCIceServer[];
    } catch {
      iceServers = undefined;
    }
  }
  return { apiBase: params.get('api') ?? meta('farplay-api') ?? window.location.origin, iceServers };
}

const config = readConfig();
const api = new PlayerApi(config.apiBase);
const app = document.getElementById('app') as HTMLElement;
let games: GameInfo[] | undefined;
let view: PlayView | undefined;

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

function gameCard(game: GameInfo, index: number): HTMLElement {
  const [from, to] = PALETTES[index % PALETTES.length] ?? ['#333', '#555'];
  const item = document.createElement('li');
  item.className = 'game-card';
  item.tabIndex = 0;
  item.dataset.gameId = game.id;
  item.setAttribute('role', 'button');
  item.setAttribute('aria-label', `Play ${game.title}`);
  const art = document.createElement('div');
  art.className = 'game-art';
  art.style.background = `linear-gradient(135deg, ${from}, ${to})`;
  art.textContent = initials(game.title);
  if (game.thumbnailUrl !== undefined) {
    // A real frame of the game (the edge renders it, or the studio's own picture); the letters on a
    // gradient stay underneath for a picture that does not load.
    const picture = document.createElement('img');
    picture.alt = '';
    picture.decoding = 'async';
    picture.src = new URL(game.thumbnailUrl, `${api.base}/`).toString();
    picture.addEventListener('error', () => picture.remove());
    art.append(picture);
  }
  const title = document.createElement('h2');
  title.textContent = game.title;
  const description = document.createElement('p');
  description.textContent = game.description;
  const meta = document.createElement('div');
  meta.className = 'game-meta';
  const chips = [
    `${game.width}×${game.height}`,
    `${game.fps} fps`,
    ...game.input,
    formatPrice(game.pricePerMinute),
  ];
  for (const text of chips) {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = text;
    meta.append(chip);
  }
  const cta = document.createElement('span');
  cta.className = 'play-cta';
  cta.textContent = '▶ Play';
  item.append(art, title, description, meta, cta);
  const play = () => {
    window.location.hash = `#/play/${encodeURIComponent(game.id)}`;
  };
  item.addEventListener('click', play);
  item.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      play();
    }
  });
  return item;
}

function notice(text: string, error = false): HTMLElement {
  const box = document.createElement('div');
  box.className = error ? 'notice error' : 'notice';
  box.textContent = text;
  return box;
}

async function loadGames(): Promise<GameInfo[]> {
  games ??= await api.listGames();
  return games;
}

async function showCatalog(): Promise<void> {
  hook.state = 'catalog';
  const section = document.createElement('section');
  section.className = 'catalog';
  const heading = document.createElement('h1');
  heading.textContent = 'Games';
  section.append(heading, notice('Loading games…'));
  app.replaceChildren(section);
  try {
    games = undefined;
    const list = await loadGames();
    const grid = document.createElement('ul');
    grid.className = 'game-grid';
    for (const [index, game] of list.entries()) grid.append(gameCard(game, index));
    section.replaceChildren(heading, list.length > 0 ? grid : notice('No games are published yet.'));
    hook.games = list.map((game) => game.id);
  } catch (error) {
    hook.state = 'error';
    hook.error = error instanceof Error ? error.message : String(error);
    const retry = document.createElement('button');
    retry.textContent = 'Try again';
    retry.addEventListener('click', () => void showCatalog());
    section.replaceChildren(heading, notice(`Could not load the games: ${hook.error}`, true), retry);
  }
}

async function showGame(gameId: string): Promise<void> {
  let game: GameInfo | undefined;
  try {
    game = (await loadGames()).find((candidate) => candidate.id === gameId);
  } catch (error) {
    hook.state = 'error';
    hook.error = error instanceof Error ? error.message : String(error);
  }
  if (game === undefined) {
    app.replaceChildren(notice(`No such game: ${gameId}`, true));
    hook.state = 'error';
    return;
  }
  const options: ConstructorParameters<typeof PlayView>[0] = {
    api,
    game,
    container: app,
    onExit: () => {
      window.location.hash = '#/';
    },
  };
  if (config.iceServers !== undefined) options.iceServers = config.iceServers;
  view = new PlayView(options);
}

function route(): void {
  view?.close();
  view = undefined;
  const match = /^#\/play\/([^/]+)$/.exec(window.location.hash);
  // The play view takes the whole window: the site header goes away while playing.
  document.body.dataset.view = match ? 'play' : 'catalog';
  if (match?.[1] !== undefined) void showGame(decodeURIComponent(match[1]));
  else void showCatalog();
}

window.addEventListener('hashchange', route);
// Tab closed or navigated away: end the session so the edge frees the slot at once.
window.addEventListener('pagehide', () => {
  view?.close();
  view = undefined;
});
route();
