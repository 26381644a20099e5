/**
 * Runs `release` now if no native call is in flight, else as soon as `isBusy()` turns false (polled every
 * 5 ms). Freeing FFmpeg contexts under a running native encode would crash the process.
 */
export function releaseWhenIdle(isBusy: () => boolean, release: () => void): void {
  if (!isBusy()) {
    release();
    return;
  }
  const wait = setInterval(() => {
    if (isBusy()) return;
    clearInterval(wait);
    release();
  }, 5);
}
