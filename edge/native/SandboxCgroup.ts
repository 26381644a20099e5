import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** Limits of one game's control group. */
export interface SandboxCgroupLimits {
  /** CPU the game may use, in cores (e.g. 1 = one core's worth per period; default 1). */
  cpuCores?: number;
  /** Memory ceiling in bytes (default 2 GiB). */
  memoryBytes?: number;
  /** Most processes and threads (default 512). */
  maxProcesses?: number;
}

const PERIOD_US = 100_000;

/**
 * A control group per game that holds its CPU (a CFS quota, so an uncapped game under Xvfb cannot starve
 * its neighbours), memory and process count. Created below this edge's own group in each hierarchy, so the
 * machine's limits on the edge still hold. Works on cgroup v2 (unified) and v1 (per controller); `create`
 * answers null where no hierarchy is writable, and the sandbox then runs the game at low CPU priority
 * (nice 10) instead.
 */
export class SandboxCgroup {
  /** The `cgroup.procs` files a process writes its pid into to join (one per v1 controller). */
  readonly procsFiles: readonly string[];
  readonly #dirs: readonly string[];
  #closed = false;

  private constructor(dirs: string[]) {
    this.#dirs = dirs;
    this.procsFiles = dirs.map((d) => join(d, 'cgroup.procs'));
  }

  /** Creates the group `name` with `limits`; null where cgroups are not writable here. */
  static async create(
    name: string,
    limits: SandboxCgroupLimits,
    logger?: Logger,
  ): Promise<SandboxCgroup | null> {
    const cpu = limits.cpuCores ?? 1;
    const memory = limits.memoryBytes ?? 2 * 1024 ** 3;
    const pids = limits.maxProcesses ?? 512;
    const quota = Math.max(1000, Math.round(cpu * PERIOD_US));
    const made: string[] = [];
    try {
      if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
        const own = ownGroups().get('') ?? '/';
        const parent = join('/sys/fs/cgroup', own);
        const dir = join(parent, name);
        await mkdir(dir);
        made.push(dir);
        await writeFile(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
        await writeFile(join(dir, 'memory.max'), String(memory)).catch(() => undefined);
        await writeFile(join(dir, 'pids.max'), String(pids)).catch(() => undefined);
        return new SandboxCgroup(made);
      }
      const groups = ownGroups();
      const cpuRoot = ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct'].find((p) =>
        existsSync(join(p, 'cpu.cfs_quota_us')),
      );
      if (!cpuRoot) return null;
      const cpuDir = join(cpuRoot, groups.get('cpu') ?? groups.get('cpu,cpuacct') ?? '/', name);
      await mkdir(cpuDir);
      made.push(cpuDir);
      await writeFile(join(cpuDir, 'cpu.cfs_period_us'), String(PERIOD_US));
      await writeFile(join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
      for (const [controller, file, value] of [
        ['memory', 'memory.limit_in_bytes', memory],
        ['pids', 'pids.max', pids],
      ] as const) {
        const root = join('/sys/fs/cgroup', controller);
        if (!existsSync(root)) continue;
        const dir = join(root, groups.get(controller) ?? '/', name);
        try {
          await mkdir(dir);
          made.push(dir);
          await writeFile(join(dir, file), String(value));
        } catch (error) {
          logger?.debug({ err: error, controller }, 'cgroup controller not usable; skipped');
        }
      }
      return new SandboxCgroup(made);
    } catch (error) {
      logger?.info({ err: error }, 'cgroups not writable; games run at nice 10 without a CPU quota');
      await Promise.all(made.reverse().map((d) => rmdir(d).catch(() => undefined)));
      return null;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Pids still in the group (its first hierarchy). */
  async pids(): Promise<number[]> {
    const file = this.procsFiles[0];
    if (!file) return [];
    const text = await readFile(file, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((s) => Number.parseInt(s, 10));
  }

  /** Kills whatever is left in the group and removes it; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (let attempt = 0; attempt < 50; attempt++) {
      const left = await this.pids();
      if (left.length === 0) break;
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const dir of [...this.#dirs].reverse()) await rmdir(dir).catch(() => undefined);
  }
}

/** This process's group path per controller ('' = the v2 unified hierarchy). */
function ownGroups(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers === undefined || path === undefined) continue;
    out.set(controllers, path);
    for (const c of controllers.split(',')) out.set(c, path);
  }
  return out;
}
