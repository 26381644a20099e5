import { ensurePlayerBuilt } from '../../scripts/buildPlayer.js';

/**
 * Builds the player bundles once before the browser e2e tests, if missing or stale: the test build
 * (dist/player-test, with the test hook `window.__farplay`) the tests drive, and the production build
 * (dist/player) a test checks has no hook.
 */
export default async function setup(): Promise<void> {
  await ensurePlayerBuilt({ testHook: true });
  await ensurePlayerBuilt();
}
