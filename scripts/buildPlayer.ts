import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root (this file lives in scripts/). */
export const repoRoot = resolve(import.meta.dirname, '..');
/** Where `npm run build:player` puts the bundle; the edge and the matchmaker serve it. */
export const playerDistDir = join(repoRoot, 'dist', 'player');

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

/** True when dist/player is missing or older than any source under player/ or protocol/. */
export function isPlayerBuildStale(): boolean {
  let built: number;
  try {
    built = statSync(join(playerDistDir, 'index.html')).mtimeMs;
  } catch {
    return true;
  }
  return Math.max(newestMtime(join(repoRoot, 'player')), newestMtime(join(repoRoot, 'protocol'))) > built;
}

/**
 * Builds the player bundle into dist/player with vite when it is missing or stale (or always with
 * `force`). Returns the directory and whether a build ran.
 */
export async function ensurePlayerBuilt(options: { force?: boolean } = {}): Promise<{
  dir: string;
  built: boolean;
}> {
  if (!options.force && !isPlayerBuildStale()) return { dir: playerDistDir, built: false };
  const { build } = await import('vite');
  // Build beside the served folder and swap it in, so a server (or a parallel build) never serves a
  // half-written bundle.
  const staging = `${playerDistDir}.build-${process.pid}-${Date.now()}`;
  try {
    await build({
      configFile: join(repoRoot, 'player', 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: staging, emptyOutDir: true },
    });
    const old = `${playerDistDir}.old-${process.pid}-${Date.now()}`;
    try {
      renameSync(playerDistDir, old);
    } catch {
      // nothing built before (or a parallel build moved it): fine
    }
    try {
      renameSync(staging, playerDistDir);
    } catch (error) {
      // A parallel build swapped its bundle in first: same sources, keep that one.
      if (isPlayerBuildStale()) throw error;
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { dir: playerDistDir, built: true };
}
