import { execFileSync } from 'node:child_process';
import type { Logger } from 'pino';
import { EDGE_RUNTIMES } from '../../protocol/edgeRegistration.js';
import { FarplayError } from '../../protocol/errors.js';
import type { PublishedManifest } from '../../protocol/matchmakerApi.js';
import type { GameDefinition } from '../games/GameRuntime.js';
import type { PackageGameSource } from '../PackageGames.js';
import type { PackageCache } from '../packages/PackageCache.js';
import { NativeGame } from './NativeGame.js';
import { NativeGameRuntime } from './NativeGameRuntime.js';
import type { SandboxCgroupLimits } from './SandboxCgroup.js';

/** Options of a NativeGameCatalog. */
export interface NativeGameCatalogOptions {
  /** Base URL of the matchmaker the manifests come from (GET /v1/games/:gameId/manifest). */
  matchmakerUrl: string;
  packages: PackageCache;
  /** Folder for per-session state (homes, audio); each session's part is removed at its end. */
  runtimeDir: string;
  limits?: SandboxCgroupLimits;
  /** How long a manifest fetched without a version is reused, ms (default 30 s; a version is kept). */
  manifestTtlMs?: number;
  logger?: Logger;
}

/** The Debian tools a native game needs on the edge. */
export const NATIVE_GAME_TOOLS = ['Xvfb', 'bwrap', 'pulseaudio', 'parec'] as const;

/** The tools of NATIVE_GAME_TOOLS this machine lacks (none = the edge can advertise the x11 runtime). */
export function missingNativeTools(): string[] {
  return NATIVE_GAME_TOOLS.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * The studio games this edge can start: each manifest is fetched from the matchmaker by game id and the
 * version the session token names (a version never changes, so it is kept; one fetched without a version
 * is reused for a short while), its package taken from the PackageCache (downloaded and verified on first
 * use), and the game started as a NativeGame behind a NativeGameRuntime. The package is held for as long
 * as the session runs.
 */
export class NativeGameCatalog implements PackageGameSource {
  /** Advertised at registration: this catalogue runs native X11 games. */
  readonly runtimes = [EDGE_RUNTIMES.x11] as const;
  readonly #options: NativeGameCatalogOptions;
  readonly #manifests = new Map<string, { manifest: PublishedManifest; at: number }>();
  /** Games started and not yet fully closed (a session's close does not wait for its game's). */
  readonly #live = new Set<NativeGame>();

  constructor(options: NativeGameCatalogOptions) {
    this.#options = options;
  }

  /**
   * The game `gameId` (its version `version` when given, else the one served now) as an edge game, or
   * null if the matchmaker has no package game by that id and version.
   */
  async definition(gameId: string, version?: number): Promise<GameDefinition | null> {
    const manifest = await this.#manifest(gameId, version);
    if (manifest?.runtime !== 'package' || !manifest.packageSha256 || !manifest.command) return null;
    const {
      runtime: _runtime,
      command,
      packageSha256,
      network,
      studio: _studio,
      publishedAt: _at,
      ...info
    } = manifest;
    const options = this.#options;
    return {
      info,
      create: async (parameters) => {
        const lease = await options.packages.acquire(packageSha256);
        try {
          const game = await NativeGame.start({
            id: `${gameId}-${Math.round(parameters.nowMs)}-${Math.random().toString(36).slice(2, 8)}`,
            command,
            packageDir: lease.dir,
            runtimeDir: options.runtimeDir,
            width: info.width,
            height: info.height,
            fps: info.fps,
            outputWidth: parameters.width,
            outputHeight: parameters.height,
            network: network ?? false,
            ...(options.limits ? { limits: options.limits } : {}),
            ...(options.logger ? { logger: options.logger.child({ gameId }) } : {}),
          });
          this.#live.add(game);
          return new NativeGameRuntime(game, () => {
            this.#live.delete(game);
            lease.release();
          });
        } catch (error) {
          lease.release();
          throw error;
        }
      },
    };
  }

  /** Native games still running or closing. */
  get liveGames(): number {
    return this.#live.size;
  }

  /** Closes every game still running and waits until each is gone (edge shutdown); idempotent. */
  async close(): Promise<void> {
    await Promise.all([...this.#live].map((game) => game.close()));
    this.#live.clear();
  }

  async #manifest(gameId: string, version?: number): Promise<PublishedManifest | null> {
    const key = version === undefined ? gameId : `${gameId}@${version}`;
    const cached = this.#manifests.get(key);
    const ttl = version === undefined ? (this.#options.manifestTtlMs ?? 30_000) : Number.POSITIVE_INFINITY;
    if (cached && Date.now() - cached.at < ttl) return cached.manifest;
    const url = new URL(`/v1/games/${encodeURIComponent(gameId)}/manifest`, this.#options.matchmakerUrl);
    if (version !== undefined) url.searchParams.set('version', String(version));
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    } catch (cause) {
      throw new FarplayError(
        'EDGE_PACKAGE_UNAVAILABLE',
        `cannot reach ${url.origin} for the game's manifest`,
        { cause },
      );
    }
    if (response.status === 404) return null;
    if (!response.ok) {
      throw new FarplayError(
        'EDGE_PACKAGE_UNAVAILABLE',
        `the matchmaker answered ${response.status} for the manifest`,
      );
    }
    const manifest = (await response.json()) as PublishedManifest;
    if (manifest.id !== gameId || (version !== undefined && manifest.version !== version)) {
      throw new FarplayError(
        'EDGE_PACKAGE_UNAVAILABLE',
        `the matchmaker answered another game than ${key} for the manifest`,
      );
    }
    this.#manifests.delete(key);
    this.#manifests.set(key, { manifest, at: Date.now() });
    // Bounded: the oldest entries go (a Map iterates in insertion order).
    for (const old of this.#manifests.keys()) {
      if (this.#manifests.size <= 256) break;
      this.#manifests.delete(old);
    }
    return manifest;
  }
}
