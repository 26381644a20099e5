import { EDGE_RUNTIMES } from '../protocol/edgeRegistration.js';
import { FarplayError } from '../protocol/errors.js';
import type { GameInfo } from '../protocol/playerApi.js';
import { checkGameText } from './checkGameText.js';
import type {
  EdgeState,
  GameChange,
  GameVersions,
  MatchmakerStore,
  PublishedGame,
} from './store/MatchmakerStore.js';

/**
 * The game catalogue: studio-published games (from the store) plus the built-in games (ids configured, reserved
 * from studios) that live edges advertise. An edge reports what it can run; it never adds a game: an id it
 * advertises outside the built-in list is ignored.
 */
export class Catalogue {
  readonly #store: MatchmakerStore;
  readonly #builtIn: ReadonlySet<string>;
  #published: PublishedGame[] = [];

  /** `builtInIds`: ids of the games edges ship built in (reserved: no studio publishes them). */
  constructor(store: MatchmakerStore, builtInIds: Iterable<string>) {
    this.#store = store;
    this.#builtIn = new Set(builtInIds);
  }

  /** Parses the `builtInGameIds` setting (comma-separated). */
  static builtInIds(spec: string): string[] {
    return spec
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  /** Replaces the published games with the store's list (at each refresh). */
  setPublished(games: PublishedGame[]): void {
    this.#published = games;
  }

  /**
   * Published games plus the built-in games of `edges`, by id. A built-in game is described as most of the
   * edges advertising it describe it (ties: the longest registered), so one edge cannot retitle it for all.
   */
  games(edges: readonly EdgeState[]): GameInfo[] {
    const votes = new Map<string, Map<string, { info: GameInfo; n: number; since: number }>>();
    for (const e of edges)
      for (const g of e.edge.games) {
        if (!this.#builtIn.has(g.id) || !acceptableText(g)) continue;
        // An edge renders a picture of each game it has built in: the catalogue points at it.
        const info: GameInfo = {
          ...g,
          thumbnailUrl: `${e.edge.publicUrl.replace(/\/$/, '')}/v1/games/${g.id}/thumbnail`,
        };
        const key = JSON.stringify([g.title, g.description, g.width, g.height, g.fps, g.input]);
        let forId = votes.get(g.id);
        if (!forId) {
          forId = new Map();
          votes.set(g.id, forId);
        }
        const v = forId.get(key);
        if (v) {
          v.n++;
          v.since = Math.min(v.since, e.edge.registeredAt);
        } else forId.set(key, { info, n: 1, since: e.edge.registeredAt });
      }
    const out = new Map<string, GameInfo>();
    for (const [id, forId] of votes) {
      const best = [...forId.values()].sort((a, b) => b.n - a.n || a.since - b.since)[0];
      if (best) out.set(id, best.info);
    }
    for (const g of this.#published) if (!this.#builtIn.has(g.game.id)) out.set(g.game.id, g.game);
    return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The version served of every studio-published game. */
  published(): readonly PublishedGame[] {
    return this.#published;
  }

  /** The published manifest of `gameId` (what an edge starts a package game from), or undefined. */
  manifest(gameId: string): PublishedGame | undefined {
    if (this.#builtIn.has(gameId)) return undefined;
    return this.#published.find((g) => g.game.id === gameId);
  }

  /** Version `version` of a studio's game (served or not, while it is not unpublished), or undefined. */
  async manifestVersion(gameId: string, version: number): Promise<PublishedGame | undefined> {
    if (this.#builtIn.has(gameId)) return undefined;
    return (await this.#store.gameVersions(gameId))?.versions.find((v) => v.version === version);
  }

  /**
   * Publishes a new version of a studio's game and returns its number: MM_RESERVED_GAME_ID for a built-in
   * game's id, MM_BAD_GAME for text the catalogue would not show, MM_FORBIDDEN if the id belongs to another
   * studio (the first to publish it).
   */
  async publish(game: PublishedGame): Promise<number> {
    if (this.#builtIn.has(game.game.id)) {
      throw new FarplayError('MM_RESERVED_GAME_ID', `${game.game.id} is a built-in game's id; pick another`);
    }
    checkGameText(game.game);
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
    const published = this.manifest(gameId);
    if (published) {
      return published.runtime.startsWith('builtin:')
        ? published.runtime.slice(8)
        : runtimeRequirement(EDGE_RUNTIMES.x11);
    }
    if (this.#builtIn.has(gameId) && edges.some((e) => e.edge.games.some((g) => g.id === gameId)))
      return gameId;
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

function acceptableText(game: GameInfo): boolean {
  try {
    checkGameText(game);
    return true;
  } catch {
    return false;
  }
}

/** The requirement an edge meets by advertising package runtime `runtime` (EdgeIndex adds it to its games). */
export function runtimeRequirement(runtime: string): string {
  return `runtime:${runtime}`;
}
