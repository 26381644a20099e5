import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GameSandbox } from '../../edge/native/GameSandbox.js';
import { NativeGame, type NativeGameExit } from '../../edge/native/NativeGame.js';
import { PulseSink } from '../../edge/native/PulseSink.js';
import { VirtualDisplay } from '../../edge/native/VirtualDisplay.js';
import { X11Capture } from '../../edge/native/X11Capture.js';
import { XTestInput } from '../../edge/native/XTestInput.js';
import { keyCodeToId } from '../../protocol/input.js';
import { buildNativeGamePackage, nativeToolsMissing } from '../support/nativeGame.js';

const missing = nativeToolsMissing();

/** Whether `pid` is a live process (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe.skipIf(missing.length > 0)(
  'native game runtime: Xvfb + bubblewrap + x11grab + XTEST + PulseAudio',
  () => {
    let pkg: string;
    let listener: Server;
    let port: number;
    const runtimeDir = join(tmpdir(), `farplay-native-${process.pid}`);

    beforeAll(async () => {
      pkg = buildNativeGamePackage();
      // A server on the host's loopback the sandboxed game tries to reach.
      listener = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      port = (listener.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => listener.close(resolve));
      rmSync(pkg, { recursive: true, force: true });
      rmSync(runtimeDir, { recursive: true, force: true });
    });

    it('runs the game sandboxed: no network, writes only in its home, all gone after close; frames, input and sound flow', async () => {
      const display = await VirtualDisplay.start({ width: 640, height: 360 });
      const audio = await PulseSink.start({ dir: join(runtimeDir, 'pulse-1') });
      const sandbox = await GameSandbox.start({
        id: 'session-1',
        command: `./game --probe-port ${port} --fps 60`,
        packageDir: pkg,
        runtimeDir,
        display,
        pulseSocket: audio.socketPath,
      });
      const capture = await X11Capture.open({ display: display.display, width: 640, height: 360, fps: 30 });
      const input = await XTestInput.open({ display: display.number });
      try {
        const childPid = await sandbox.childPid();
        expect(childPid).toBeGreaterThan(0);

        // Frames: wait until the game's red square is on screen, then read where it is.
        const frames: { y: Uint8Array; v: Uint8Array; width: number; height: number }[] = [];
        capture.on('frame', (f) =>
          frames.push({
            y: Buffer.from(f.planes.y),
            v: Buffer.from(f.planes.v),
            width: f.planes.width,
            height: f.planes.height,
          }),
        );
        capture.start();
        const redCentre = (f: { v: Uint8Array; width: number; height: number }): number | null => {
          // Red has a high V (Cr); average the x of chroma samples above 200.
          let sum = 0;
          let n = 0;
          const w = f.width / 2;
          for (let i = 0; i < f.v.length; i++) {
            if ((f.v[i] ?? 0) > 200) {
              sum += i % w;
              n++;
            }
          }
          return n > 20 ? (sum / n) * 2 : null;
        };
        await until(
          () => frames.length > 5 && redCentre(frames[frames.length - 1] as never) !== null,
          'the game on screen',
        );
        const before = redCentre(frames[frames.length - 1] as never) as number;
        const [first, last] = [frames[0]?.y, frames[frames.length - 1]?.y] as Uint8Array[];
        expect(Buffer.compare(first as Uint8Array, last as Uint8Array)).not.toBe(0);

        // Input: ArrowRight (XTEST) moves the square right.
        for (let i = 0; i < 4; i++) {
          input.input({ type: 'keyDown', seq: i * 2 + 1, key: keyCodeToId('ArrowRight') });
          input.input({ type: 'keyUp', seq: i * 2 + 2, key: keyCodeToId('ArrowRight') });
        }
        await until(
          () => (redCentre(frames[frames.length - 1] as never) ?? 0) > before + 40,
          'the square to move right',
        );

        // A mouse click teleports the square (absolute motion + left button).
        input.input({ type: 'mouseMove', seq: 20, dx: 0, dy: 0, x: 0.1, y: 0.5 });
        input.input({ type: 'mouseButton', seq: 21, button: 0, down: true });
        input.input({ type: 'mouseButton', seq: 22, button: 0, down: false });
        await until(
          () => (redCentre(frames[frames.length - 1] as never) ?? 999) < 120,
          'the square to jump to the click',
        );

        // Sound: every key press beeps through the session's PulseAudio sink.
        await until(() => {
          const block = new Int16Array(960);
          audio.mixAudio(block);
          return block.some((s) => Math.abs(s) > 2000);
        }, 'a beep from the game');

        // The sandbox: the probes the game ran at start.
        const probe = readFileSync(join(sandbox.homeDir, 'probe.txt'), 'utf8');
        expect(probe).toContain('net=blocked');
        expect(probe).toContain('home=written');
        expect(probe).toContain('package=blocked');
        expect(probe).toContain('root=blocked');
        expect(probe).toContain('work=blocked');
        expect(existsSync(join(pkg, 'written-into-package'))).toBe(false);
        expect(existsSync('/farplay-escape')).toBe(false);

        await sandbox.close();
        expect(alive(childPid as number)).toBe(false);
        expect(() => process.kill(-(sandbox.pid as number), 0)).toThrow();
        expect(existsSync(sandbox.homeDir)).toBe(false);
      } finally {
        input.close();
        await capture.close();
        await sandbox.close();
        await audio.close();
        await display.close();
      }
    });

    it('reports a crashing game as a crash with its signal, and one that exits with its code', async () => {
      const display = await VirtualDisplay.start({ width: 320, height: 240 });
      try {
        const crashing = await GameSandbox.start({
          id: 'session-crash',
          command: './game --crash-after-frames 5',
          packageDir: pkg,
          runtimeDir,
          display,
        });
        const [crash] = await new Promise<Parameters<Parameters<typeof crashing.on<'exit'>>[1]>>((resolve) =>
          crashing.on('exit', (...args) => resolve(args)),
        );
        expect(crash).toMatchObject({ crashed: true, signal: 'SIGABRT', code: null });
        await crashing.close();
        expect(existsSync(crashing.homeDir)).toBe(false);

        const exiting = await GameSandbox.start({
          id: 'session-exit',
          command: "sh -c 'exit 3'",
          packageDir: pkg,
          runtimeDir,
          display,
        });
        expect(await exiting.exited()).toMatchObject({ crashed: false, code: 3 });
        await exiting.close();
      } finally {
        await display.close();
      }
    });
  },
);

describe.skipIf(missing.length > 0)(
  'NativeGame: two sessions side by side, and a crash ends one with a code',
  () => {
    let pkg: string;
    const runtimeDir = join(tmpdir(), `farplay-native-pair-${process.pid}`);
    beforeAll(() => {
      pkg = buildNativeGamePackage();
    });
    afterAll(() => {
      rmSync(pkg, { recursive: true, force: true });
      rmSync(runtimeDir, { recursive: true, force: true });
    });

    it('keeps two games apart (own display, input reaches only its own) and reports the crash of one', async () => {
      const start = (id: string, command: string) =>
        NativeGame.start({ id, command, packageDir: pkg, runtimeDir, width: 320, height: 240, fps: 30 });
      const a = await start('pair-a', './game --fps 30');
      const b = await start('pair-b', './game --fps 30 --crash-after-frames 90');
      try {
        expect(a.display.number).not.toBe(b.display.number);
        const lastV: Record<string, Uint8Array> = {};
        a.on('frame', (f) => {
          lastV.a = Buffer.from(f.planes.v);
        });
        b.on('frame', (f) => {
          lastV.b = Buffer.from(f.planes.v);
        });
        const redX = (v: Uint8Array | undefined): number => {
          let sum = 0;
          let n = 0;
          (v ?? []).forEach((value, i) => {
            if (value > 200) {
              sum += i % 160;
              n++;
            }
          });
          return n > 5 ? (sum / n) * 2 : -1;
        };
        await until(() => redX(lastV.a) > 0 && redX(lastV.b) > 0, 'both games on screen');
        const [ax, bx] = [redX(lastV.a), redX(lastV.b)];
        a.input({ type: 'mouseMove', seq: 1, dx: 0, dy: 0, x: 0.9, y: 0.5 });
        a.input({ type: 'mouseButton', seq: 2, button: 0, down: true });
        a.input({ type: 'mouseButton', seq: 3, button: 0, down: false });
        await until(() => redX(lastV.a) > ax + 80, 'game A to follow its click');
        expect(Math.abs(redX(lastV.b) - bx)).toBeLessThan(10);

        const exit = await new Promise<NativeGameExit>((resolve) => b.on('exit', resolve));
        expect(exit).toMatchObject({
          errorCode: 'EDGE_GAME_CRASHED',
          crashed: true,
          reason: 'killed by SIGABRT',
        });
        const frames = a.frames;
        await until(() => a.frames > frames + 5, 'game A to go on after B crashed');
      } finally {
        await a.close();
        await b.close();
      }
      expect(existsSync(a.sandbox.homeDir)).toBe(false);
      expect(existsSync(b.sandbox.homeDir)).toBe(false);
    });
  },
);

async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
