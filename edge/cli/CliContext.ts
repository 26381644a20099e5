import type { CliOutput } from './CliOutput.js';

/** What every command gets: its arguments, the environment, and where to write. */
export interface CliContext {
  args: string[];
  env: Record<string, string | undefined>;
  output: CliOutput;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
}
