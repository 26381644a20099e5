import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FarplayError } from '../../protocol/errors.js';

/** What `farplay studio login` stores (0600): the matchmaker and the studio's API key. */
export interface StudioConfig {
  matchmakerUrl: string;
  apiKey: string;
  /** The studio the key belongs to (as the matchmaker answered at login). */
  studio?: string;
}

/** The studio config file: --config, else FARPLAY_STUDIO_CONFIG, else $FARPLAY_STUDIO_HOME or ~/.farplay, /studio.json. */
export function studioConfigFile(flag: string | undefined, env: Record<string, string | undefined>): string {
  if (flag) return resolve(flag);
  if (env.FARPLAY_STUDIO_CONFIG) return resolve(env.FARPLAY_STUDIO_CONFIG);
  return join(resolve(env.FARPLAY_STUDIO_HOME ?? join(env.HOME ?? homedir(), '.farplay')), 'studio.json');
}

/** Writes the config readable by its owner only (0600, also when the file existed), its folder 0700. */
export function saveStudioConfig(file: string, config: StudioConfig): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * The config a command works with: the file under FARPLAY_STUDIO_API_KEY / FARPLAY_STUDIO_MATCHMAKER_URL
 * and `--matchmaker`; STUDIO_NOT_LOGGED_IN without a key or a matchmaker.
 */
export function loadStudioConfig(
  file: string,
  env: Record<string, string | undefined>,
  matchmakerFlag?: string,
): StudioConfig {
  let stored: Partial<StudioConfig> = {};
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<StudioConfig>;
    } catch (cause) {
      throw new FarplayError('STUDIO_NOT_LOGGED_IN', `${file} is not JSON; run farplay studio login again`, {
        cause,
      });
    }
  }
  const apiKey = env.FARPLAY_STUDIO_API_KEY ?? stored.apiKey;
  const matchmakerUrl = matchmakerFlag ?? env.FARPLAY_STUDIO_MATCHMAKER_URL ?? stored.matchmakerUrl;
  if (!apiKey) throw new FarplayError('STUDIO_NOT_LOGGED_IN');
  if (!matchmakerUrl) {
    throw new FarplayError('STUDIO_NOT_LOGGED_IN', 'no matchmaker: pass --matchmaker URL or log in again');
  }
  return { matchmakerUrl, apiKey, ...(stored.studio ? { studio: stored.studio } : {}) };
}
