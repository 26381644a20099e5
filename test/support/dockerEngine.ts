import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** A Docker engine the tests can use; `close()` stops it when the tests started it (idempotent). */
export interface DockerEngine {
  /** True when this process started dockerd (and will stop it). */
  started: boolean;
  close(): Promise<void>;
}

/** True when `command` runs (`--version` answers). */
export function hasCommand(command: string): boolean {
  const run = spawnSync(command, ['--version'], { stdio: 'ignore' });
  return !run.error && run.status === 0;
}

/** True when a Docker engine answers the CLI. */
export function dockerAnswers(): boolean {
  const run = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore' });
  return !run.error && run.status === 0;
}

/**
 * Why the compose e2e cannot run here (undefined: it can): the tools it needs, and root to start an engine when
 * none runs.
 */
export function composeUnsupportedReason(): string | undefined {
  const missing = ['docker', 'docker-compose', 'mmdebstrap'].filter((command) => !hasCommand(command));
  if (missing.length > 0) {
    return `${missing.join(', ')} not installed (Debian: apt-get install docker.io docker-compose mmdebstrap; .ci/run does)`;
  }
  if (dockerAnswers()) return undefined;
  if (!hasCommand('dockerd'))
    return 'no Docker engine runs and dockerd is not installed (apt-get install docker.io)';
  if (process.getuid?.() !== 0) return 'no Docker engine runs and starting dockerd needs root';
  return undefined;
}

/**
 * Uses the running Docker engine, or starts `dockerd --bridge=none --iptables=false` (nothing leaves loopback:
 * no bridge, no NAT rules; containers use the host's network) and waits until it answers. Its log goes to
 * `logDir/dockerd.log`.
 */
export async function ensureDockerEngine(logDir: string, timeoutMs = 60_000): Promise<DockerEngine> {
  if (dockerAnswers()) return { started: false, close: async () => {} };
  mkdirSync(logDir, { recursive: true });
  const log = openSync(join(logDir, 'dockerd.log'), 'a');
  const child: ChildProcess = spawn('dockerd', ['--bridge=none', '--iptables=false'], {
    stdio: ['ignore', log, log],
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await once(child, 'exit').catch(() => {});
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (!dockerAnswers()) {
    if (exited || Date.now() > deadline) {
      await close();
      throw new Error(`dockerd did not come up (see ${join(logDir, 'dockerd.log')})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { started: true, close };
}
