import { parseArgs } from 'node:util';
import type { CliContext } from '../../edge/cli/CliContext.js';
import { FarplayError } from '../../protocol/errors.js';
import type { GameVersionsResponse } from '../../protocol/matchmakerApi.js';
import { loadStudioConfig, studioConfigFile } from './StudioConfig.js';
import { studioRequest } from './studioRequest.js';
import { printVersions } from './versionsCommand.js';

/**
 * `farplay studio unpublish <gameId> [--version N]`: removes one version (players get the pinned or latest
 * one left) or, without --version, the game from the catalogue (the id stays the studio's).
 */
export async function unpublishCommand(context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: context.args,
    options: {
      config: { type: 'string' },
      matchmaker: { type: 'string' },
      version: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const gameId = positionals[0];
  const version = values.version === undefined ? undefined : Number(values.version);
  if (!gameId || (version !== undefined && !(Number.isInteger(version) && version >= 1))) {
    throw new FarplayError('BAD_REQUEST', 'usage: farplay studio unpublish <gameId> [--version N]');
  }
  const config = loadStudioConfig(
    studioConfigFile(values.config, context.env),
    context.env,
    values.matchmaker,
  );
  const query = version === undefined ? '' : `?version=${version}`;
  const answer = await studioRequest<GameVersionsResponse>(
    config,
    `/v1/studio/games/${encodeURIComponent(gameId)}${query}`,
    { method: 'DELETE' },
  );
  context.output.out(
    version === undefined
      ? `✓ ${gameId} is no longer in the catalogue`
      : `✓ removed v${version} of ${gameId}`,
  );
  printVersions(context.output, answer);
  return 0;
}
