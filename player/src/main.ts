import './styles/index.css';
import type { GameInfo } from '../../protocol/playerApi.js';
import { PlayerApi } from './api.js';
import { gameCard } from './gameCard.js';
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
/** The game of the play view shown (its tile gets the focus back on the way out). */
let playingGameId: string | undefined;

function notice(text: string, error = false): HTMLElement {
  const box = document.createElement('div');
  box.className = error ? 'notice error' : 'notice';
  // Announced when it appears: an error at once, progress when the reader is idle.
  box.setAttribute('role', error ? 'alert' : 'status');
  box.textContent = text;
  return box;
}

async function loadGames(): Promise<GameInfo[]> {
  games ??= await api.listGames();
  return games;
}

/**
 * The catalogue; `focusGameId` (the game just left) gets the keyboard focus back, so a keyboard
 * player lands where they were.
 */
async function showCatalog(focusGameId?: string): Promise<void> {
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
    for (const [index, game] of list.entries()) grid.append(gameCard({ game, index, apiBase: api.base }));
    section.replaceChildren(heading, list.length > 0 ? grid : notice('No games are published yet.'));
    hook.games = list.map((game) => game.id);
    if (focusGameId !== undefined) {
      const tile = [...grid.querySelectorAll<HTMLElement>('.game-link')].find(
        (card) => card.dataset.gameId === focusGameId,
      );
      tile?.focus();
    }
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
  playingGameId = game.id;
}

function route(): void {
  const left = view === undefined ? undefined : playingGameId;
  view?.close();
  view = undefined;
  const match = /^#\/play\/([^/]+)$/.exec(window.location.hash);
  // The play view takes the whole window: the site header goes away while playing.
  document.body.dataset.view = match ? 'play' : 'catalog';
  if (match?.[1] !== undefined) void showGame(decodeURIComponent(match[1]));
  else void showCatalog(left);
}

window.addEventListener('hashchange', route);
// Tab closed or navigated away: end the session so the edge frees the slot at once.
window.addEventListener('pagehide', () => {
  view?.close();
  view = undefined;
});
route();
