import { parseArgs } from 'node:util';
import type { CliContext } from '../../edge/cli/CliContext.js';
import type { CliOutput } from '../../edge/cli/CliOutput.js';
import type { GameVersionsResponse, StudioGamesResponse } from '../../protocol/matchmakerApi.js';
import { loadStudioConfig, studioConfigFile } from './StudioConfig.js';
import { studioRequest } from './studioRequest.js';

/**
 * `farplay studio versions [gameId]`: without an id, the studio's games and the version each serves; with
 * one, every version of that game (▶ marks the one players get, 📌 a pin).
 */
export async function versionsCommand(context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: context.args,
    options: { config: { type: 'string' }, matchmaker: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const config = loadStudioConfig(
    studioConfigFile(values.config, context.env),
    context.env,
    values.matchmaker,
  );
  const gameId = positionals[0];
  if (!gameId) {
    const { studio, games } = await studioRequest<StudioGamesResponse>(config, '/v1/studio/games');
    context.output.out(`studio ${studio}: ${games.length} game${games.length === 1 ? '' : 's'} published`);
    for (const g of games) {
      context.output.out(
        `  ${g.id.padEnd(24)} v${String(g.version ?? '?').padEnd(4)} ${g.runtime.padEnd(16)} ${g.title}`,
      );
    }
    return 0;
  }
  printVersions(
    context.output,
    await studioRequest<GameVersionsResponse>(
      config,
      `/v1/studio/games/${encodeURIComponent(gameId)}/versions`,
    ),
  );
  return 0;
}

/** Prints a game's versions, newest first, marking the live and the pinned one. */
export function printVersions(output: CliOutput, answer: GameVersionsResponse): void {
  const live = answer.live === null ? 'not published' : `serving v${answer.live}`;
  output.out(`${answer.gameId}: ${live}${answer.pinned !== null ? ` (pinned)` : ' (latest)'}`);
  for (const v of [...answer.versions].reverse()) {
    const mark = v.version === answer.live ? '▶' : ' ';
    const pin = v.version === answer.pinned ? ' pinned' : '';
    const sha = v.packageSha256 ? v.packageSha256.slice(0, 12) : v.runtime;
    output.out(
      `${mark} v${String(v.version).padEnd(4)} ${new Date(v.publishedAt).toISOString()}  ${sha}${pin}`,
    );
  }
}
