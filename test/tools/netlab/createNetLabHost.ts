import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { killGroup } from './killGroup.js';
import { NetLabError } from './NetLabError.js';

/** What a command run with `host.run` printed and how it ended. */
export interface NetLabRunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One host of a running lab. */
export interface NetLabHost {
  readonly name: string;
  /** Its IPv4 address on the lab subnet. */
  readonly ip: string;
  /** Network namespace name, or null for the `root` host. */
  readonly netns: string | null;
  /** Its TAP interface name (inside its namespace). */
  readonly iface: string;
  /** Starts a process inside the host's namespace (`ip netns exec`); it is killed (with its group) on close. */
  spawn(command: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Runs a command inside the host's namespace to completion (killed after `timeoutMs`, default 30 s). */
  run(command: string, args?: readonly string[], options?: { timeoutMs?: number }): Promise<NetLabRunResult>;
}

/** What a host needs of its lab: whether it is closed, and the set its children are tracked in. */
export interface NetLabHostContext {
  isClosed(): boolean;
  children: Set<ChildProcess>;
}

/** Absolute path of `ip`, so spawning in a namespace works whatever `env` (PATH) a caller passes. */
function ipPath(): string {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(join(dir, 'ip'))) return join(dir, 'ip');
  }
  return 'ip';
}

/** A host handle whose processes run in its namespace and are tracked in the lab's `children`. */
export function createNetLabHost(
  place: { name: string; ip: string; netns: string | null; iface: string },
  lab: NetLabHostContext,
): NetLabHost {
  const wrap = (command: string, args: readonly string[]): [string, string[]] =>
    place.netns === null
      ? [command, [...args]]
      : [ipPath(), ['netns', 'exec', place.netns, command, ...args]];
  const host: NetLabHost = {
    name: place.name,
    ip: place.ip,
    netns: place.netns,
    iface: place.iface,
    spawn(command, args = [], options = {}) {
      if (lab.isClosed()) throw new NetLabError('NETLAB_CLOSED', 'the lab is closed');
      const [cmd, argv] = wrap(command, args);
      // Own process group, so close() also kills grandchildren (e.g. tsx → node).
      const child = spawn(cmd, argv, { ...options, detached: true });
      lab.children.add(child);
      child.on('exit', () => lab.children.delete(child));
      return child;
    },
    run(command, args = [], options = {}) {
      return new Promise((resolve, reject) => {
        const child = host.spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: Buffer) => {
          stdout += d.toString();
        });
        child.stderr?.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), options.timeoutMs ?? 30_000);
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
    },
  };
  return host;
}
