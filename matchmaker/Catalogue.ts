import { EDGE_RUNTIMES } from '../protocol/edgeRegistration.js';
import { FarplayError } from '../protocol/errors.js';
import type { GameInfo } from '../protocol/playerApi.js';
import type {
  EdgeState,
  GameChange,
  GameVersions,
  MatchmakerStore,
  PublishedGame,
} from './store/MatchmakerStore.js';

/** The game catalogue: studio-published games (from the store) plus the built-in games live edges advertise. */
export class Catalogue {
  readonly #store: MatchmakerStore;
  #published: PublishedGame[] = [];

  constructor(store: MatchmakerStore) {
    this.#store = store;
  }

  /** Replaces the published games with the store's list (at each refresh). */
  setPublished(games: PublishedGame[]): void {
    this.#published = games;
  }

  /** Published games plus the built-in games of `edges` (published wins on an id clash), by id. */
  games(edges: readonly EdgeState[]): GameInfo[] {
    const out = new Map<string, GameInfo>();
    // An edge renders a picture of each game it has built in: the catalogue points at it.
    for (const e of edges)
      for (const g of e.edge.games)
        if (!out.has(g.id))
          out.set(g.id, {
            thumbnailUrl: `${e.edge.publicUrl.replace(/\/$/, '')}/v1/games/${g.id}/thumbnail`,
            ...g,
          });
    for (const g of this.#published) out.set(g.game.id, g.game);
    return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The version served of every studio-published game. */
  published(): readonly PublishedGame[] {
    return this.#published;
  }

  /** The published manifest of `gameId` (what an edge starts a package game from), or undefined. */
  manifest(gameId: string): PublishedGame | undefined {
    return this.#published.find((g) => g.game.id === gameId);
  }

  /** Publishes a new version of a studio's game and returns its number; MM_FORBIDDEN if the id belongs to another studio. */
  async publish(game: PublishedGame): Promise<number> {
    const version = await this.#store.putGame(game);
    if (version === 'forbidden')
      throw new FarplayError('MM_FORBIDDEN', `game ${game.game.id} belongs to another studio`);
    await this.#reload();
    return version;
  }

  /** Every version of a studio's game; MM_UNKNOWN_GAME, or MM_FORBIDDEN for another studio's. */
  async versions(gameId: string, studio: string): Promise<GameVersions> {
    const versions = await this.#store.gameVersions(gameId);
    checkChange(versions === null ? 'unknown' : versions.studio === studio ? 'ok' : 'forbidden', gameId);
    return versions as GameVersions;
  }

  /** Serves `version` of a studio's game from now on (null: the latest again). */
  async pin(gameId: string, studio: string, version: number | null): Promise<void> {
    checkChange(await this.#store.pinGame(gameId, studio, version), gameId, version);
    await this.#reload();
  }

  /** Removes one version of a studio's game, or (version undefined) the game from the catalogue. */
  async unpublish(gameId: string, studio: string, version?: number): Promise<void> {
    checkChange(await this.#store.unpublishGame(gameId, studio, version), gameId, version);
    await this.#reload();
  }

  async #reload(): Promise<void> {
    this.#published = await this.#store.listGames();
  }

  /**
   * What an edge must advertise to run `gameId`: the built-in game's id, or `runtime:x11` for a studio
   * package (edges that run native games advertise that runtime); MM_UNKNOWN_GAME if no one offers it.
   * Never null: every game needs something an edge advertises.
   */
  requirement(gameId: string, edges: readonly EdgeState[]): string | null {
    const published = this.#published.find((g) => g.game.id === gameId);
    if (published) {
      return published.runtime.startsWith('builtin:')
        ? published.runtime.slice(8)
        : runtimeRequirement(EDGE_RUNTIMES.x11);
    }
    if (edges.some((e) => e.edge.games.some((g) => g.id === gameId))) return gameId;
    throw new FarplayError('MM_UNKNOWN_GAME', `no game ${gameId}`);
  }
}

/** Throws the error a store's answer to a studio's change means. */
function checkChange(change: GameChange, gameId: string, version?: number | null): void {
  if (change === 'forbidden')
    throw new FarplayError('MM_FORBIDDEN', `game ${gameId} belongs to another studio`);
  if (change === 'unknown') {
    const what =
      version === undefined || version === null ? `game ${gameId}` : `version ${version} of ${gameId}`;
    throw new FarplayError('MM_UNKNOWN_GAME', `no published ${what}`);
  }
}

/** The requirement an edge meets by advertising package runtime `runtime` (EdgeIndex adds it to its games). */
export function runtimeRequirement(runtime: string): string {
  return `runtime:${runtime}`;
}
