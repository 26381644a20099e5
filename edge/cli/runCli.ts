// What every Farplay command-line tool shares: one failure line with its code and fix, and the process entry.
import { findError } from '../../protocol/errors.js';
import type { CliContext } from './CliContext.js';
import { streamOutput } from './CliOutput.js';

/** A command line's context before it is split into a command and its arguments. */
export type CliInvocation = Omit<CliContext, 'args'> & { argv: string[] };

/**
 * Runs one command and turns a thrown error into one line on stderr: `✗ message [CODE]`, and the fix for that
 * code where `fixes` has one. Resolves with the command's exit code, or 1 when it threw.
 */
export async function runReportingErrors(
  run: () => Promise<number>,
  context: Pick<CliContext, 'output'>,
  fixes: Partial<Record<string, string>>,
): Promise<number> {
  try {
    return await run();
  } catch (error) {
    const known = findError(error);
    if (known) {
      context.output.err(`✗ ${known.message} [${known.code}]`);
      const fix = fixes[known.code];
      if (fix) context.output.err(`    fix: ${fix}`);
    } else {
      context.output.err(`✗ ${error instanceof Error ? error.message : String(error)}`);
    }
    return 1;
  }
}

/** The process entry of tool `name`: runs `process.argv` through `run` and exits with its code. */
export function runMain(name: string, run: (invocation: CliInvocation) => Promise<number>): void {
  run({
    argv: process.argv.slice(2),
    env: process.env,
    output: streamOutput(process.stdout, process.stderr),
    stdin: process.stdin,
    stderr: process.stderr,
  }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${name} failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
