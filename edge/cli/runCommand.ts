import { parseArgs } from 'node:util';
import { FarplayError } from '../../protocol/errors.js';
import { EDGE_CONFIG_FILE_ENV } from '../config.js';
import type { CliContext } from './CliContext.js';
import { resolveConfigFile } from './resolveConfigFile.js';
import { startRunStatus } from './startRunStatus.js';

/**
 * `farplay-edge run`: the edge process (edge/runEdge.ts) in the foreground, from the config file and keystore, with
 * a status line (sessions, encode headroom, today's minutes) redrawn on a terminal or logged every minute.
 */
export async function runCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({ args: context.args, options: { config: { type: 'string' } }, strict: true });
  const file = resolveConfigFile(values.config, context.env);
  if (!file) throw new FarplayError('OPERATOR_NOT_INITIALIZED');
  const { runEdge } = await import('../runEdge.js');
  const running = await runEdge({ ...context.env, [EDGE_CONFIG_FILE_ENV]: file });
  startRunStatus({ running, stream: context.stderr });
  // runEdge owns the process from here (it exits on SIGINT/SIGTERM).
  return new Promise<number>(() => {});
}
