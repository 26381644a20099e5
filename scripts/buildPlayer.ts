import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root (this file lives in scripts/). */
export const repoRoot = resolve(import.meta.dirname, '..');
/** Where `npm run build:player` puts the bundle; the edge and the matchmaker serve it. */
export const playerDistDir = join(repoRoot, 'dist', 'player');
/** Where the test build goes: the same page with the test hook `window.__farplay` (e2e tests, bench). */
export const playerTestDistDir = join(repoRoot, 'dist', 'player-test');

/** Newest modification time (ms) of the files under `dir`, recursively (0 if none). */
function newestMtime(dir: string): number {
  let newest = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.isFile()) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when the bundle in `dir` is missing or older than any source under player/ or protocol/. */
export function isPlayerBuildStale(dir: string = playerDistDir): boolean {
  let built: number;
  try {
    built = statSync(join(dir, 'index.html')).mtimeMs;
  } catch {
    return true;
  }
  return Math.max(newestMtime(join(repoRoot, 'player')), newestMtime(join(repoRoot, 'protocol'))) > built;
}

/** Options of `ensurePlayerBuilt`. */
export interface EnsurePlayerBuiltParameters {
  /** Build even when the bundle is up to date (default false). */
  force?: boolean;
  /** The test build with `window.__farplay` into dist/player-test (default false: production). */
  testHook?: boolean;
}

/**
 * Builds the player bundle into dist/player (or the test build into dist/player-test) with vite when
 * it is missing or stale (or always with `force`). Returns the directory and whether a build ran.
 */
export async function ensurePlayerBuilt(options: EnsurePlayerBuiltParameters = {}): Promise<{
  dir: string;
  built: boolean;
}> {
  const dir = options.testHook ? playerTestDistDir : playerDistDir;
  if (!options.force && !isPlayerBuildStale(dir)) return { dir, built: false };
  const { build } = await import('vite');
  // Build beside the served folder and swap it in, so a server (or a parallel build) never serves a
  // half-written bundle.
  const staging = `${dir}.build-${process.pid}-${Date.now()}`;
  try {
    await build({
      configFile: join(repoRoot, 'player', 'vite.config.ts'),
      mode: options.testHook ? 'test' : 'production',
      logLevel: 'warn',
      build: { outDir: staging, emptyOutDir: true },
    });
    const old = `${dir}.old-${process.pid}-${Date.now()}`;
    try {
      renameSync(dir, old);
    } catch {
      // nothing built before (or a parallel build moved it): fine
    }
    try {
      renameSync(staging, dir);
    } catch (error) {
      // A parallel build swapped its bundle in first: same sources, keep that one.
      if (isPlayerBuildStale(dir)) throw error;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { dir, built: true };
}
