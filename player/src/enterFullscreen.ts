/** What `enterFullscreen` got. */
export interface EnterFullscreenResult {
  fullscreen: boolean;
  /** True when the screen is now locked to landscape (Screen Orientation API). */
  landscapeLocked: boolean;
}

type LockableOrientation = ScreenOrientation & { lock?: (orientation: string) => Promise<void> };
type KeyboardWithLock = Navigator & { keyboard?: { lock?: () => Promise<void> } };

/**
 * Puts `element` in fullscreen (browser UI hidden) and, with `landscape`, asks the Screen Orientation
 * API to lock the screen to landscape, which browsers allow only in fullscreen and only on some devices
 * (the caller shows a prompt to turn the device when it fails). Keyboard Lock is asked for too, so Esc
 * and friends reach the game where the browser allows it. Never throws.
 */
export async function enterFullscreen(
  element: HTMLElement,
  options: { landscape: boolean },
): Promise<EnterFullscreenResult> {
  const result: EnterFullscreenResult = { fullscreen: false, landscapeLocked: false };
  try {
    if (document.fullscreenElement !== element) await element.requestFullscreen({ navigationUI: 'hide' });
    result.fullscreen = true;
  } catch {
    return result;
  }
  (navigator as KeyboardWithLock).keyboard?.lock?.().catch(() => {});
  if (options.landscape) {
    try {
      const orientation = screen.orientation as LockableOrientation;
      if (orientation.lock) {
        await orientation.lock('landscape');
        result.landscapeLocked = true;
      }
    } catch {
      // not allowed here (desktop, iOS, an emulator): the caller prompts instead
    }
  }
  return result;
}
