#!/usr/bin/env -S npx tsx
// farplay: the studio's tool (`farplay studio login | publish | versions | pin | unpublish`). Every failure
// is one line with its code and what to do.
import { pathToFileURL } from 'node:url';
import type { CliContext } from '../../edge/cli/CliContext.js';
import { type CliInvocation, runMain, runReportingErrors } from '../../edge/cli/runCli.js';
import { loginCommand } from './loginCommand.js';
import { pinCommand } from './pinCommand.js';
import { publishCommand } from './publishCommand.js';
import { unpublishCommand } from './unpublishCommand.js';
import { versionsCommand } from './versionsCommand.js';

type Command = (context: CliContext) => Promise<number>;

const STUDIO_COMMANDS: Record<string, { run: Command; summary: string }> = {
  login: { run: loginCommand, summary: 'check the studio API key with the matchmaker and store it (0600)' },
  publish: {
    run: publishCommand,
    summary: 'check ./dir/farplay.json, pack and upload the folder, publish a new version',
  },
  versions: { run: versionsCommand, summary: 'your games; with a game id, its versions' },
  list: { run: versionsCommand, summary: 'the same as versions' },
  pin: { run: pinCommand, summary: 'serve one version of a game (`latest` to follow new ones again)' },
  unpublish: { run: unpublishCommand, summary: 'remove a version (--version N) or the game' },
};

const USAGE = [
  'usage: farplay studio <command> [options]',
  '',
  ...Object.entries(STUDIO_COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
  '',
  'The key is stored in --config, else FARPLAY_STUDIO_CONFIG, else ~/.farplay/studio.json;',
  'FARPLAY_STUDIO_API_KEY and FARPLAY_STUDIO_MATCHMAKER_URL override it.',
];

/** Hints for errors whose code alone does not say what to do. */
const FIXES: Partial<Record<string, string>> = {
  MM_BAD_API_KEY: 'check the key with the matchmaker’s operator, then run farplay studio login again',
  MM_FORBIDDEN: 'another studio owns this game id: pick another id in farplay.json',
  STUDIO_MATCHMAKER_UNREACHABLE: 'check the matchmaker URL (farplay studio login --matchmaker URL)',
  PAYLOAD_TOO_LARGE:
    'the package is larger than the matchmaker accepts: leave out what the game does not need',
};

/** Runs one `farplay` command line; resolves with the exit code. */
export async function runFarplay(context: CliInvocation): Promise<number> {
  const [group, name, ...args] = context.argv;
  const command = group === 'studio' && name ? STUDIO_COMMANDS[name] : undefined;
  if (!command) {
    for (const line of USAGE) context.output.err(line);
    const help = (word: string | undefined) => word === undefined || word === '--help' || word === 'help';
    return help(group) || (group === 'studio' && help(name)) ? 0 : 2;
  }
  return runReportingErrors(() => command.run({ ...context, args }), context, FIXES);
}

/** The process entry: runs `process.argv` and exits with the command's code. */
export function main(): void {
  runMain('farplay', runFarplay);
}

// `tsx matchmaker/studio-cli/farplay.ts …`; the installed `farplay` bin goes through farplay.mjs.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
