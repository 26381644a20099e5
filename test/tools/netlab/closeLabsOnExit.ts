/** A lab as the exit hook sees it: something to close synchronously. */
export interface LiveLab {
  closeSync(): void;
}

const liveLabs = new Set<LiveLab>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const lab of liveLabs) lab.closeSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Only when nobody else handles the signal: clean up, then die of it as we would have.
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      for (const lab of liveLabs) lab.closeSync();
      process.kill(process.pid, signal);
    });
  }
}

/** Closes this lab on process exit (and on SIGINT/SIGTERM nobody else handles); returns the unhook. */
export function closeLabsOnExit(lab: LiveLab): () => void {
  liveLabs.add(lab);
  hookExit();
  return () => {
    liveLabs.delete(lab);
  };
}
