import { parseArgs } from 'node:util';
import { FarplayError } from '../../protocol/errors.js';
import { EDGE_CONFIG_FILE_ENV } from '../config.js';
import type { CliContext } from './CliContext.js';
import { resolveConfigFile } from './resolveConfigFile.js';

/** `farplay-edge run`: the edge process (edge/main.ts) in the foreground, from the config file and keystore. */
export async function runCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({ args: context.args, options: { config: { type: 'string' } }, strict: true });
  const file = resolveConfigFile(values.config, context.env);
  if (!file) throw new FarplayError('OPERATOR_NOT_INITIALIZED');
  process.env[EDGE_CONFIG_FILE_ENV] = file;
  await import('../main.js');
  // main.ts owns the process from here (it exits on SIGINT/SIGTERM).
  return new Promise<number>(() => {});
}
