import type { GameChange, GameVersions, PublishedGame } from './MatchmakerStore.js';

/** One game id's state: its owner, its versions by number, the pin and the last number given. */
interface GameEntry {
  studio: string;
  versions: Map<number, PublishedGame>;
  pinned: number | null;
  lastVersion: number;
}

/**
 * The in-process store's published games: versions per id, an optional pin, the live version (pinned,
 * else latest). Methods never await, so each change is atomic in one process.
 */
export class MemoryGames {
  readonly #games = new Map<string, GameEntry>();

  put(game: PublishedGame): number | 'forbidden' {
    const id = game.game.id;
    let entry = this.#games.get(id);
    if (entry && entry.studio !== game.studio) return 'forbidden';
    if (!entry) {
      entry = { studio: game.studio, versions: new Map(), pinned: null, lastVersion: 0 };
      this.#games.set(id, entry);
    }
    const version = ++entry.lastVersion;
    entry.versions.set(version, { ...structuredClone(game), version });
    return version;
  }

  list(): PublishedGame[] {
    const out: PublishedGame[] = [];
    for (const entry of this.#games.values()) {
      const live = liveVersion(entry);
      if (live !== null) out.push(structuredClone(entry.versions.get(live) as PublishedGame));
    }
    return out;
  }

  versions(gameId: string): GameVersions | null {
    const entry = this.#games.get(gameId);
    if (!entry) return null;
    return {
      studio: entry.studio,
      versions: [...entry.versions.keys()]
        .sort((a, b) => a - b)
        .map((v) => structuredClone(entry.versions.get(v) as PublishedGame)),
      pinned: entry.pinned,
      live: liveVersion(entry),
    };
  }

  pin(gameId: string, studio: string, version: number | null): GameChange {
    const entry = this.#games.get(gameId);
    if (!entry) return 'unknown';
    if (entry.studio !== studio) return 'forbidden';
    if (version !== null && !entry.versions.has(version)) return 'unknown';
    entry.pinned = version;
    return 'ok';
  }

  unpublish(gameId: string, studio: string, version?: number): GameChange {
    const entry = this.#games.get(gameId);
    if (!entry) return 'unknown';
    if (entry.studio !== studio) return 'forbidden';
    if (version === undefined) {
      if (entry.versions.size === 0) return 'unknown';
      entry.versions.clear();
      entry.pinned = null;
      return 'ok';
    }
    if (!entry.versions.delete(version)) return 'unknown';
    if (entry.pinned === version) entry.pinned = null;
    return 'ok';
  }
}

function liveVersion(entry: GameEntry): number | null {
  if (entry.pinned !== null) return entry.pinned;
  let latest: number | null = null;
  for (const v of entry.versions.keys()) if (latest === null || v > latest) latest = v;
  return latest;
}
