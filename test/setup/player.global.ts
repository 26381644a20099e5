import { ensurePlayerBuilt } from '../../scripts/buildPlayer.js';

/** Builds the player bundle (dist/player) once before the browser e2e tests, if missing or stale. */
export default async function setup(): Promise<void> {
  await ensurePlayerBuilt();
}
