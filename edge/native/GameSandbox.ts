import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { FarplayError } from '../../protocol/errors.js';
import { TypedEmitter } from '../../protocol/TypedEmitter.js';
import { SandboxCgroup, type SandboxCgroupLimits } from './SandboxCgroup.js';
import { type ProcessExit, waitForExit } from './waitForExit.js';

/** Where the game sees things inside its sandbox. */
export const SANDBOX_PATHS = {
  /** The unpacked package, read-only; the game's working directory. */
  game: '/game',
  /** The game's private, writable home (removed at the end). */
  home: '/home/player',
  /** The PulseAudio socket of the session. */
  pulse: '/run/pulse/native',
} as const;

/** Options of `GameSandbox.start`. */
export interface GameSandboxOptions {
  /** Session id: names the sandbox's home folder and control group. */
  id: string;
  /** The manifest's command, run by `/bin/sh -c` in `/game` (e.g. `./bin/game --fullscreen`). */
  command: string;
  /** Unpacked package folder (bound read-only at /game). */
  packageDir: string;
  /** Folder under which the per-session home is made (and removed at the end). */
  runtimeDir: string;
  /** The X display the game draws on: its number and Unix socket. */
  display: { number: number; socketPath: string };
  /** The session's PulseAudio socket (optional: no sound without it). */
  pulseSocket?: string;
  /** Whether the game may use the network (default false: its own empty network namespace). */
  network?: boolean;
  /** CPU, memory and process limits (a control group where writable). */
  limits?: SandboxCgroupLimits;
  /** Extra environment for the game (names must not override the sandbox's own). */
  env?: Record<string, string>;
  logger?: Logger;
}

/** Events of a GameSandbox: `exit` when the game ends without `close()` having asked it to. */
export type GameSandboxEvents = { exit: [exit: GameProcessExit] };

/** How a game process ended. */
export interface GameProcessExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any (e.g. 'SIGSEGV'). */
  signal: NodeJS.Signals | null;
  /** True when a signal ended it (a crash), false for an exit with a code. */
  crashed: boolean;
  /** The last lines the game wrote to stderr. */
  stderr: string;
}

// Files of /etc a game usually needs (dynamic loader, fonts, time zone); the rest of /etc stays out.
const ETC_FILES = [
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'fonts',
  'alternatives',
  'localtime',
  'ssl/certs',
];

/**
 * A native game in a bubblewrap sandbox: its own user, mount, pid, IPC, UTS and (unless the manifest asks
 * for it) network namespace; /usr read-only; the package read-only at /game; a private home at
 * /home/player and a private /tmp; only this session's X and PulseAudio sockets; no capabilities; the
 * root read-only. CPU, memory and process count are held by a control group (nice 10 where there is none).
 * `close()` kills the whole process group (and with it the pid namespace), then removes everything the game
 * wrote.
 */
export class GameSandbox {
  /** Host folder of the game's home (exists until close). */
  readonly homeDir: string;
  readonly #process: ChildProcess;
  readonly #events: TypedEmitter<GameSandboxEvents>;
  readonly #cgroup: SandboxCgroup | null;
  readonly #sessionDir: string;
  readonly #exited: Promise<ProcessExit>;
  readonly #childPid: Promise<number | undefined>;
  readonly #logger: Logger | undefined;
  #stderr = '';
  #closing: Promise<void> | undefined;
  #closed = false;

  private constructor(
    child: ChildProcess,
    sessionDir: string,
    homeDir: string,
    cgroup: SandboxCgroup | null,
    options: GameSandboxOptions,
  ) {
    this.#process = child;
    this.#sessionDir = sessionDir;
    this.homeDir = homeDir;
    this.#cgroup = cgroup;
    this.#logger = options.logger;
    this.#events = new TypedEmitter({
      onListenerError: (error) => options.logger?.error({ err: error }, 'game sandbox listener failed'),
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    this.#childPid = new Promise((resolve) => {
      let text = '';
      const info = child.stdio[3] as Readable | null;
      if (!info) return resolve(undefined);
      info.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      info.on('close', () => {
        try {
          resolve((JSON.parse(text) as { 'child-pid'?: number })['child-pid']);
        } catch {
          resolve(undefined);
        }
      });
    });
    this.#exited = waitForExit(child);
    void this.#exited.then((exit) => {
      if (this.#closing) return;
      const ended = describeExit(exit, this.#stderr);
      options.logger?.info({ code: ended.code, signal: ended.signal }, 'game exited');
      this.#events.emit('exit', ended);
    });
  }

  /** Starts `options.command` in a new sandbox; resolves once the sandbox process runs. */
  static async start(options: GameSandboxOptions): Promise<GameSandbox> {
    const sessionDir = join(options.runtimeDir, safeName(options.id));
    const homeDir = join(sessionDir, 'home');
    await mkdir(homeDir, { recursive: true, mode: 0o700 });
    const cgroup = await SandboxCgroup.create(
      `farplay-${safeName(options.id)}`,
      options.limits ?? {},
      options.logger,
    );
    const args = bwrapArguments(options);
    // Join the control group before bwrap forks, so no game process is ever outside it.
    const wrapper = cgroup
      ? [
          'sh',
          '-c',
          'for f in $FARPLAY_CGROUP_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"',
          'sh',
          'bwrap',
        ]
      : ['nice', '-n', '10', 'bwrap'];
    let child: ChildProcess;
    try {
      child = spawn(wrapper[0] as string, [...wrapper.slice(1), ...args], {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
        env: {
          PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
          FARPLAY_CGROUP_PROCS: cgroup?.procsFiles.join(' ') ?? '',
        },
      });
    } catch (cause) {
      await cgroup?.close();
      await rm(sessionDir, { recursive: true, force: true });
      throw new FarplayError('EDGE_GAME_START_FAILED', 'cannot start the sandbox', { cause });
    }
    const sandbox = new GameSandbox(child, sessionDir, homeDir, cgroup, options);
    await new Promise<void>((resolve) => {
      child.once('spawn', resolve);
      child.once('error', () => resolve());
    });
    if (child.pid === undefined) {
      await sandbox.close();
      throw new FarplayError('EDGE_GAME_START_FAILED', 'cannot run bubblewrap (is it installed?)');
    }
    options.logger?.debug({ pid: child.pid, cgroup: cgroup !== null }, 'game sandbox started');
    return sandbox;
  }

  /** Host pid of the sandbox's process-group leader. */
  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** Host pid of the game's command inside the sandbox (from bwrap's info; undefined if it never ran). */
  childPid(): Promise<number | undefined> {
    return this.#childPid;
  }

  /** True when a control group holds the game's CPU, memory and processes. */
  get limited(): boolean {
    return this.#cgroup !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof GameSandboxEvents>(
    event: K,
    listener: (...args: GameSandboxEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /** Resolves when the game has exited (on its own or by close). */
  async exited(): Promise<GameProcessExit> {
    return describeExit(await this.#exited, this.#stderr);
  }

  /** Kills the process group (TERM, KILL after 1 s), empties the control group, removes the home; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#events.removeAllListeners();
    const pid = this.#process.pid;
    if (pid !== undefined && this.#process.exitCode === null && this.#process.signalCode === null) {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 1000);
      await this.#exited;
      clearTimeout(timer);
    }
    // Whatever escaped into the group after the leader died (it cannot leave the pid namespace) goes too.
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    // The namespace's init dies by its parent-death signal, asynchronously: wait until it is gone.
    const inner = await this.#childPid;
    for (let i = 0; inner !== undefined && i < 200 && running(inner); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await this.#cgroup?.close();
    await rm(this.#sessionDir, { recursive: true, force: true }).catch((error: unknown) =>
      this.#logger?.warn({ err: error }, 'cannot remove the game sandbox folder'),
    );
    this.#closed = true;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** Whether `pid` is a live process (a zombie counts as gone). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'session';
}

function describeExit(exit: ProcessExit, stderr: string): GameProcessExit {
  // bwrap reports a child killed by a signal as 128 + the signal number.
  let { code, signal } = exit;
  if (signal === null && code !== null && code > 128 && code < 128 + 65) {
    const number = code - 128;
    const name = Object.entries(constants.signals).find(([, n]) => n === number)?.[0];
    if (name) {
      signal = name as NodeJS.Signals;
      code = null;
    }
  }
  return { code, signal, crashed: signal !== null, stderr: stderr.slice(-1000) };
}

function bwrapArguments(options: GameSandboxOptions): string[] {
  const x = `/tmp/.X11-unix/X${options.display.number}`;
  const args = [
    '--unshare-all',
    ...(options.network ? ['--share-net'] : []),
    '--unshare-user',
    '--uid',
    '1000',
    '--gid',
    '1000',
    '--cap-drop',
    'ALL',
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'farplay',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--symlink',
    'usr/bin',
    '/bin',
    '--symlink',
    'usr/sbin',
    '/sbin',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/run',
    '--dir',
    '/run/user/1000',
  ];
  for (const f of ETC_FILES) args.push('--ro-bind-try', `/etc/${f}`, `/etc/${f}`);
  if (options.network) args.push('--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf');
  args.push('--bind', options.display.socketPath, x);
  if (options.pulseSocket) args.push('--bind', options.pulseSocket, SANDBOX_PATHS.pulse);
  args.push(
    '--ro-bind',
    options.packageDir,
    SANDBOX_PATHS.game,
    '--bind',
    join(options.runtimeDir, safeName(options.id), 'home'),
    SANDBOX_PATHS.home,
    '--remount-ro',
    '/',
    '--chdir',
    SANDBOX_PATHS.game,
    '--clearenv',
  );
  const env: Record<string, string> = {
    ...(options.env ?? {}),
    HOME: SANDBOX_PATHS.home,
    USER: 'player',
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    DISPLAY: `:${options.display.number}`,
    XDG_RUNTIME_DIR: '/run/user/1000',
    ...(options.pulseSocket ? { PULSE_SERVER: `unix:${SANDBOX_PATHS.pulse}` } : {}),
  };
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  args.push('--info-fd', '3', '/bin/sh', '-c', `exec ${options.command}`);
  return args;
}
