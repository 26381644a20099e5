import { FarplayError } from '../../protocol/errors.js';
import type { EdgeConfig } from '../config.js';
import { EDGE_CONFIG_FILE_ENV, loadEdgeConfig } from '../config.js';
import { resolveConfigFile } from './resolveConfigFile.js';

/** The edge config a command works on: the config file (--config, FARPLAY_EDGE_CONFIG_FILE or the default home) under the environment. */
export function loadCliConfig(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): Readonly<EdgeConfig> {
  const file = resolveConfigFile(flag, env);
  if (!file) throw new FarplayError('OPERATOR_NOT_INITIALIZED');
  return loadEdgeConfig({ ...env, [EDGE_CONFIG_FILE_ENV]: file });
}
