// Small helpers the Chromium-driven benchmarks share: command-line flags, rounding, waiting, and
// progress on stderr (stdout is kept for the one JSON line each benchmark prints last).

/** The value after `--name` on the command line, if given. */
export function arg(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

/** Two decimals, as figures are reported. */
export const round = (value: number): number => Math.round(value * 100) / 100;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress to stderr. */
export const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
