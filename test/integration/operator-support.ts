import { PassThrough } from 'node:stream';
import { runFarplayEdge } from '../../edge/cli/farplay-edge.js';

/** What one farplay-edge run printed and returned. */
export interface CliRun {
  code: number;
  /** stdout lines. */
  lines: string[];
  /** stderr lines. */
  errors: string[];
}

/** Runs `farplay-edge <argv>` in process, as an operator would in a terminal (no TTY), and captures what it prints. */
export async function runCli(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const lines: string[] = [];
  const errors: string[] = [];
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  const code = await runFarplayEdge({
    argv,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    output: {
      out: (line) => lines.push(line),
      err: (line) => errors.push(line),
      progress: () => {},
    },
    stdin,
    stderr,
  });
  return { code, lines, errors };
}
