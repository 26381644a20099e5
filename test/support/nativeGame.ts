import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether this machine has what native games need (Xvfb, bwrap, PulseAudio, gcc with the X11 headers). */
export function nativeToolsMissing(): string[] {
  const missing: string[] = [];
  for (const tool of ['Xvfb', 'bwrap', 'pulseaudio', 'parec', 'gcc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      missing.push(tool);
    }
  }
  return missing;
}

/**
 * Compiles the test game (test/fixtures/native-game/game.c, a small real X11 program) into a fresh package
 * folder and returns it: `<dir>/game` is the executable a manifest's command runs as `./game`.
 */
export function buildNativeGamePackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'farplay-native-game-'));
  mkdirSync(dir, { recursive: true });
  const source = new URL('../fixtures/native-game/game.c', import.meta.url).pathname;
  execFileSync('gcc', ['-O2', '-o', join(dir, 'game'), source, '-lX11', '-lm'], { stdio: 'pipe' });
  return dir;
}
