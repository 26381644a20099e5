import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliContext } from '../../edge/cli/CliContext.js';
import { prompt } from '../../edge/cli/readSecret.js';
import { FarplayError } from '../../protocol/errors.js';
import type { StudioGamesResponse } from '../../protocol/matchmakerApi.js';
import { saveStudioConfig, studioConfigFile } from './StudioConfig.js';
import { studioRequest } from './studioRequest.js';

/**
 * `farplay studio login --matchmaker URL [--key-file FILE]`: checks the API key with the matchmaker and
 * stores it (0600). The key comes from FARPLAY_STUDIO_API_KEY, else the first line of --key-file, else a
 * prompt that does not echo; never from the command line (it would show in `ps`).
 */
export async function loginCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: context.args,
    options: {
      matchmaker: { type: 'string' },
      'key-file': { type: 'string' },
      config: { type: 'string' },
    },
    strict: true,
  });
  const matchmakerUrl = values.matchmaker ?? context.env.FARPLAY_STUDIO_MATCHMAKER_URL;
  if (!matchmakerUrl) {
    throw new FarplayError('STUDIO_NOT_LOGGED_IN', 'which matchmaker? pass --matchmaker URL');
  }
  let apiKey = context.env.FARPLAY_STUDIO_API_KEY;
  if (!apiKey && values['key-file']) apiKey = readFileSync(values['key-file'], 'utf8').split(/\r?\n/)[0];
  if (!apiKey && context.stdin.isTTY)
    apiKey = await prompt(context.stdin, context.stderr, 'Studio API key: ');
  apiKey = apiKey?.trim();
  if (!apiKey) {
    throw new FarplayError(
      'STUDIO_NOT_LOGGED_IN',
      'no API key: set FARPLAY_STUDIO_API_KEY, pass --key-file FILE, or run in a terminal to be asked',
    );
  }
  const { studio } = await studioRequest<StudioGamesResponse>({ matchmakerUrl, apiKey }, '/v1/studio/games');
  const file = studioConfigFile(values.config, context.env);
  saveStudioConfig(file, { matchmakerUrl, apiKey, studio });
  context.output.out(`✓ logged in to ${matchmakerUrl} as studio ${studio}`);
  context.output.out(`  key stored in ${file} (readable by you only)`);
  return 0;
}
