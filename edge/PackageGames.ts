import type { Logger } from 'pino';
import type { SessionClaims } from '../protocol/sessionToken.js';
import type { GameDefinition } from './games/GameRuntime.js';

/** Where an edge finds studio package games by id (edge/native/NativeGameCatalog is one). */
export interface PackageGameSource {
  /** The package runtimes it runs, advertised at registration (e.g. ['x11']). */
  readonly runtimes: readonly string[];
  /**
   * The game `gameId` as an edge game — its version `version` when given (what the session token names),
   * else the one served now — or null when there is no such package game (or version).
   */
  definition(gameId: string, version?: number): Promise<GameDefinition | null>;
}

/** How many looked-up package games are kept (the oldest go first). */
const MAX_DEFINITIONS = 256;

/**
 * The package games sessions were admitted for: looked up from a `PackageGameSource` before admission
 * (`prepare`), then found by the token's claims (`find`). A version never changes, so a versioned game
 * is reused; an unversioned one is looked up again each time.
 */
export class PackageGames {
  readonly #source: PackageGameSource;
  readonly #log: Logger;
  /** By `packageGameKey`. */
  readonly #definitions = new Map<string, GameDefinition>();

  constructor(source: PackageGameSource, log: Logger) {
    this.#source = source;
    this.#log = log;
  }

  /** The package runtimes the source runs. */
  get runtimes(): readonly string[] {
    return this.#source.runtimes;
  }

  /** Looks up the game `claims` names (unless a versioned one is kept). Never throws: a failure is logged. */
  async prepare(claims: SessionClaims): Promise<void> {
    const { gameId, gv } = claims;
    const key = packageGameKey(claims);
    if (gv !== undefined && this.#definitions.has(key)) return;
    try {
      const definition = await this.#source.definition(gameId, gv);
      if (definition) this.#definitions.set(key, definition);
      else this.#definitions.delete(key);
      // Bounded: the oldest entries go (a Map iterates in insertion order).
      for (const old of this.#definitions.keys()) {
        if (this.#definitions.size <= MAX_DEFINITIONS) break;
        this.#definitions.delete(old);
      }
    } catch (error) {
      this.#log.warn({ err: error, gameId }, 'cannot look up the package game');
    }
  }

  /** The game `claims` names, if `prepare` found it. */
  find(claims: SessionClaims): GameDefinition | undefined {
    return this.#definitions.get(packageGameKey(claims));
  }
}

/** Where a token's package game is kept: `id@version`, or the bare id for a token without a version. */
function packageGameKey(claims: SessionClaims): string {
  return claims.gv === undefined ? claims.gameId : `${claims.gameId}@${claims.gv}`;
}
