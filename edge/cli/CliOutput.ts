import type { Writable } from 'node:stream';

/** Where a command writes: lines for the operator (stdout) and problems (stderr). Tests capture both. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
  /** Rewrites the current line (progress bars); a no-op off a terminal. */
  progress(line: string): void;
}

/** A CliOutput on two streams; progress redraws only when `stderr` is a TTY. */
export function streamOutput(
  stdout: Writable & { isTTY?: boolean },
  stderr: Writable & { isTTY?: boolean },
): CliOutput {
  let progressShown = false;
  const clear = () => {
    if (progressShown) {
      stderr.write('\r\u001b[2K');
      progressShown = false;
    }
  };
  return {
    out(line) {
      clear();
      stdout.write(`${line}\n`);
    },
    err(line) {
      clear();
      stderr.write(`${line}\n`);
    },
    progress(line) {
      if (!stderr.isTTY) return;
      stderr.write(`\r\u001b[2K${line}`);
      progressShown = true;
    },
  };
}
