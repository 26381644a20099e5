#!/usr/bin/env -S npx tsx
// farplay-edge: the operator's tool. Takes a machine from nothing to earning: init, doctor, bench, stake,
// register, status, run, service install, unstake, withdraw. Every failure is one line with its code and what to do.
import { pathToFileURL } from 'node:url';
import type { CliContext } from './CliContext.js';
import { doctorCommand } from './doctorCommand.js';
import { initCommand } from './initCommand.js';
import { type CliInvocation, runMain, runReportingErrors } from './runCli.js';

type Command = (context: CliContext) => Promise<number>;

const COMMANDS: Record<string, { run: () => Promise<Command>; summary: string }> = {
  init: {
    run: async () => initCommand,
    summary: 'write the config file and the encrypted node and owner keys',
  },
  doctor: {
    run: async () => doctorCommand,
    summary: 'check this machine and its standing; each ✗ says how to fix it',
  },
  bench: {
    run: async () => (await import('./benchCommand.js')).benchCommand,
    summary: 'measure concurrent 720p30 sessions; write the signed capability snapshot',
  },
  stake: {
    run: async () => (await import('./stakeCommand.js')).stakeCommand,
    summary: 'register this edge on the staking chain with the owner key’s stake (idempotent)',
  },
  register: {
    run: async () => (await import('./stakeCommand.js')).stakeCommand,
    summary: 'the same as stake: on chain, registration is the stake',
  },
  status: {
    run: async () => (await import('./statusCommand.js')).statusCommand,
    summary: 'registration, stake, rewards and live state; when not earning, why',
  },
  run: {
    run: async () => (await import('./runCommand.js')).runCommand,
    summary: 'run the edge in the foreground from the config file and keystore',
  },
  unstake: {
    run: async () => (await import('./unstakeCommand.js')).unstakeCommand,
    summary: 'start unbonding the owner’s stake (--all or --amount); says how long the contract holds it',
  },
  withdraw: {
    run: async () => (await import('./withdrawCommand.js')).withdrawCommand,
    summary: 'pay the unbonded stake back to the owner once the unbonding delay has passed',
  },
  service: {
    run: async () => (await import('./serviceCommand.js')).serviceCommand,
    summary: '`service install`: a system-level systemd unit that runs the edge at boot',
  },
};

const USAGE = [
  'usage: farplay-edge <command> [--config FILE] [options]',
  '',
  ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`),
  '',
  'The config file is --config, else FARPLAY_EDGE_CONFIG_FILE, else ~/.farplay-edge/edge.json;',
  'FARPLAY_EDGE_* variables override it.',
];

/** Hints for errors whose code alone does not say what to do. */
const FIXES: Partial<Record<string, string>> = {
  OPERATOR_BAD_PASSPHRASE: 'check FARPLAY_EDGE_KEYSTORE_PASSPHRASE / keystorePassphraseFile',
  EDGE_BAD_CONFIG: 'correct that field in the config file or its FARPLAY_EDGE_* variable',
  CHAIN_UNAVAILABLE: 'check stakingRpcUrl / paymentsRpcUrl: the chain node must answer',
};

/** Runs one farplay-edge command line; resolves with the exit code. */
export async function runFarplayEdge(context: CliInvocation): Promise<number> {
  const [name, ...args] = context.argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    for (const line of USAGE) context.output.err(line);
    return name === undefined || name === '--help' || name === 'help' ? 0 : 2;
  }
  return runReportingErrors(async () => (await command.run())({ ...context, args }), context, FIXES);
}

/** The process entry: runs `process.argv` and exits with the command's code. */
export function main(): void {
  runMain('farplay-edge', runFarplayEdge);
}

// `tsx edge/cli/farplay-edge.ts …`; the installed `farplay-edge` bin goes through farplay-edge.mjs.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
