import { parseArgs } from 'node:util';
import type { CliContext } from '../../edge/cli/CliContext.js';
import { FarplayError } from '../../protocol/errors.js';
import type { GameVersionsResponse } from '../../protocol/matchmakerApi.js';
import { loadStudioConfig, studioConfigFile } from './StudioConfig.js';
import { studioRequest } from './studioRequest.js';
import { printVersions } from './versionsCommand.js';

/** `farplay studio pin <gameId> <version|latest>`: players get that version whatever is published later. */
export async function pinCommand(context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: context.args,
    options: { config: { type: 'string' }, matchmaker: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [gameId, which] = positionals;
  const version = which === 'latest' ? null : Number(which);
  if (!gameId || (version !== null && !(Number.isInteger(version) && version >= 1))) {
    throw new FarplayError('BAD_REQUEST', 'usage: farplay studio pin <gameId> <version|latest>');
  }
  const config = loadStudioConfig(
    studioConfigFile(values.config, context.env),
    context.env,
    values.matchmaker,
  );
  const answer = await studioRequest<GameVersionsResponse>(
    config,
    `/v1/studio/games/${encodeURIComponent(gameId)}/pin`,
    { method: 'POST', body: { version } },
  );
  context.output.out(
    version === null ? `✓ ${gameId} follows the latest version` : `✓ ${gameId} pinned to v${version}`,
  );
  printVersions(context.output, answer);
  return 0;
}
