import type { ChildProcess } from 'node:child_process';

/** How a child process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves once `child` has exited (at once if it already has); never rejects. */
export function waitForExit(child: ChildProcess): Promise<ProcessExit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => resolve({ code, signal });
    child.once('exit', done);
    // A child that could not be spawned emits 'error' and no 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
}
