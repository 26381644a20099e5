import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { EDGE_CONFIG_FILE_ENV } from '../config.js';

/** The default home of an edge's config and keys: $FARPLAY_EDGE_HOME, else ~/.farplay-edge. */
export function defaultEdgeHome(env: Record<string, string | undefined>): string {
  return resolve(env.FARPLAY_EDGE_HOME ?? join(homedir(), '.farplay-edge'));
}

/** Which config file a command uses: --config, else FARPLAY_EDGE_CONFIG_FILE, else <home>/edge.json if it exists. */
export function resolveConfigFile(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): string | undefined {
  if (flag) return resolve(flag);
  if (env[EDGE_CONFIG_FILE_ENV]) return resolve(env[EDGE_CONFIG_FILE_ENV] as string);
  const fallback = join(defaultEdgeHome(env), 'edge.json');
  return existsSync(fallback) ? fallback : undefined;
}
