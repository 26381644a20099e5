import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * netlab: emulated hosts (network namespaces, one TAP each) joined by a userspace forwarder that adds
 * per-host one-way delay, jitter and loss — this kernel has no netem. RTT(a,b) = 2·(delay_a + delay_b).
 * Test tooling only; see README.md beside this file.
 */

/** Link properties of one host's link to the lab switch. All default to 0 / false. */
export interface NetLabLink {
  /** One-way delay of this host's link in ms (a frame a→b waits delay_a + delay_b). Default 0. */
  delayMs?: number;
  /** Uniform jitter ±ms added to this host's leg. Default 0. Frames keep their order unless `reorder`. */
  jitterMs?: number;
  /** Loss of this host's leg in percent (0..100), per frame. Default 0. */
  lossPct?: number;
  /** Cut the host off: every frame from or to it is dropped, including those in flight. Default false. */
  down?: boolean;
  /** Let jitter reorder frames of this host. Default false. */
  reorder?: boolean;
  /**
   * Upstream capacity (host → lab) in kbit/s, shaped by the kernel's `tbf` on the host's TAP (50 ms
   * queue, then tail drop). 0 = unlimited (default). Downstream is not shaped.
   */
  rateKbit?: number;
}

/** One emulated host. The name `root` is special: its TAP stays in the root namespace (the test process). */
export interface NetLabHostSpec extends NetLabLink {
  name: string;
}

export interface CreateNetLabParameters {
  hosts: readonly NetLabHostSpec[];
  /**
   * First three octets of the lab's /24. Default `10.213.77` for labs without a `root` host (namespaces
   * are isolated, so labs may share it); with a `root` host, the first `10.213.N` (N ≥ 77) not already
   * on a root-namespace interface, claimed with a lock file in `<tmp>/farplay-netlab/` until close.
   */
  subnet?: string;
  /** Namespace name prefix; leftovers of dead processes with this prefix are removed. Default `fpnl`. */
  prefix?: string;
}

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

/** Forwarder counters: per-port frames and drops, and how late frames left versus their schedule. */
export interface NetLabStats {
  queued: number;
  flooded: number;
  rtSched: number;
  late: { count: number; p50Us: number; p99Us: number; p999Us: number; maxUs: number };
  ports: {
    name: string;
    rx: number;
    tx: number;
    dropLoss: number;
    dropDown: number;
    dropQueue: number;
    dropWrite: number;
  }[];
}

/** A running lab. `close()` is idempotent and also runs (synchronously) on process exit. */
export interface NetLab {
  readonly hosts: readonly NetLabHost[];
  readonly subnet: string;
  /** Pid of the forwarder process (root namespace). */
  readonly forwarderPid: number;
  readonly closed: boolean;
  /** The host of that name; throws NETLAB_BAD_CONFIG if there is none. */
  host(name: string): NetLabHost;
  /** Changes a host's link at runtime; fields left out keep their current value. */
  setLink(name: string, link: NetLabLink): Promise<void>;
  /** Forwarder counters (see NetLabStats). */
  stats(): Promise<NetLabStats>;
  /** Clears the forwarder counters and lateness histogram. */
  resetStats(): Promise<void>;
  close(): Promise<void>;
}

/** Stable codes of netlab errors (test tooling; they never cross a process boundary). */
export type NetLabErrorCode =
  | 'NETLAB_UNSUPPORTED'
  | 'NETLAB_BAD_CONFIG'
  | 'NETLAB_SETUP_FAILED'
  | 'NETLAB_CLOSED';

export class NetLabError extends Error {
  override name = 'NetLabError';
  readonly code: NetLabErrorCode;
  constructor(code: NetLabErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
  }
}

const here = dirname(fileURLToPath(import.meta.url));
const forwarderSource = join(here, 'forwarder.c');
const MAX_HOSTS = 60;
const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/i;

/** Absolute path of `ip`, so spawning in a namespace works whatever `env` (PATH) a caller passes. */
function ipPath(): string {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (dir !== '' && existsSync(join(dir, 'ip'))) return join(dir, 'ip');
  }
  return 'ip';
}

function commandExists(command: string): boolean {
  const r = spawnSync(command, ['-V'], { stdio: 'ignore' });
  return r.error === undefined;
}

/**
 * Why a lab cannot run on this machine, or null if it can. Tests use it with
 * `describe.skipIf(reason !== null)` and print the reason.
 */
export function netLabUnsupportedReason(): string | null {
  if (process.platform !== 'linux')
    return `netlab needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'netlab needs root (network namespaces and TAP devices); run as root';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return 'netlab needs /dev/net/tun (TAP devices); it is missing or not accessible';
  }
  if (!commandExists('ip')) return 'netlab needs `ip` from iproute2 (apt-get install iproute2)';
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).error !== undefined) {
    return 'netlab needs a C compiler `cc` to build its forwarder (apt-get install gcc)';
  }
  return null;
}

let compiled: string | undefined;

/** Compiles the forwarder once per source hash into a cache dir under os.tmpdir(); returns its path. */
export function forwarderBinary(): string {
  if (compiled !== undefined) return compiled;
  const source = readFileSync(forwarderSource);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'farplay-netlab');
  const binary = join(dir, `forwarder-${hash}`);
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${binary}.${process.pid}.tmp`;
    const r = spawnSync('cc', ['-O2', '-Wall', '-o', temporary, forwarderSource], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) {
      throw new NetLabError(
        'NETLAB_SETUP_FAILED',
        `compiling the netlab forwarder failed: ${r.stderr ?? ''}`,
        {
          cause: r.error,
        },
      );
    }
    renameSync(temporary, binary); // atomic: parallel compilers race harmlessly
  }
  compiled = binary;
  return binary;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

function killNetnsPids(netns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const pid = Number(line.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Removes namespaces `<prefix>-<pid>-…` whose creating process is gone (a crashed run), killing what
 * still runs inside them. Their TAPs vanished with their forwarder. Returns the names removed.
 */
export function cleanupStaleNetLabs(prefix = 'fpnl'): string[] {
  const pattern = new RegExp(`^${prefix}-(\\d+)-`);
  const removed: string[] = [];
  for (const netns of listNetns()) {
    const m = pattern.exec(netns);
    if (m === null || pidAlive(Number(m[1]))) continue;
    killNetnsPids(netns);
    spawnSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
    removed.push(netns);
  }
  return removed;
}

function usedRootSubnets(): Set<string> {
  const r = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  const used = new Set<string>();
  for (const m of (r.stdout ?? '').matchAll(/inet (\d+\.\d+\.\d+)\.\d+\//g)) {
    if (m[1] !== undefined) used.add(m[1]);
  }
  return used;
}

/** Sets (rate > 0) or removes (0) the tbf qdisc that limits a host's upstream. */
async function shape(
  host: { netns: string | null; iface: string } | undefined,
  rateKbit: number,
): Promise<void> {
  if (host === undefined) return;
  const where = host.netns === null ? [] : ['-n', host.netns];
  // burst: 10 ms at the rate, at least 16 kB so a full frame and small bursts pass.
  const burst = Math.max(16_000, Math.ceil((rateKbit * 1000) / 8 / 100));
  const args =
    rateKbit > 0
      ? [
          ...where,
          'qdisc',
          'replace',
          'dev',
          host.iface,
          'root',
          'tbf',
          'rate',
          `${Math.round(rateKbit)}kbit`,
        ].concat(['burst', String(burst), 'latency', '50ms'])
      : [...where, 'qdisc', 'del', 'dev', host.iface, 'root'];
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (error) => resolve({ code: -1, stderr: String(error) }));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  if (r.code !== 0) {
    throw new NetLabError('NETLAB_SETUP_FAILED', `tc ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
}

/** Creates `<tmp>/farplay-netlab/subnet-<subnet>.lock` holding our pid; takes over a dead owner's. */
function claimSubnet(subnet: string): string | undefined {
  const dir = join(tmpdir(), 'farplay-netlab');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `subnet-${subnet}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return path;
    } catch {
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(path, 'utf8'));
      } catch {
        // removed meanwhile: retry
      }
      if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) return undefined;
      try {
        unlinkSync(path);
      } catch {
        // someone else took it over
      }
    }
  }
  return undefined;
}

function ipBatch(args: readonly string[], lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', [...args, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new NetLabError('NETLAB_SETUP_FAILED', `ip ${args.join(' ')} -batch failed: ${stderr.trim()}`),
        );
    });
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

function validateLink(name: string, link: NetLabLink): void {
  const check = (field: string, v: number | undefined, max: number): void => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= max)) {
      throw new NetLabError(
        'NETLAB_BAD_CONFIG',
        `host ${name}: ${field} must be a number in 0..${max}, got ${v}`,
      );
    }
  };
  check('delayMs', link.delayMs, 60_000);
  check('jitterMs', link.jitterMs, 60_000);
  check('lossPct', link.lossPct, 100);
  check('rateKbit', link.rateKbit, 10_000_000);
}

interface LiveLab {
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

let labCounter = 0;
let setupChain: Promise<unknown> = Promise.resolve();

/**
 * Creates a lab: one namespace + TAP per host (the `root` host keeps its TAP in the root namespace),
 * addresses `<subnet>.(10+i)/24`, and the forwarder applying each host's link. Throws NETLAB_UNSUPPORTED
 * with the reason when the machine cannot (see netLabUnsupportedReason), NETLAB_BAD_CONFIG on bad input.
 */
export async function createNetLab(parameters: CreateNetLabParameters): Promise<NetLab> {
  const reason = netLabUnsupportedReason();
  if (reason !== null) throw new NetLabError('NETLAB_UNSUPPORTED', reason);
  const prefix = parameters.prefix ?? 'fpnl';
  if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix)) {
    throw new NetLabError('NETLAB_BAD_CONFIG', `prefix must be 1..8 lowercase letters/digits, got ${prefix}`);
  }
  const specs = parameters.hosts;
  if (specs.length < 1 || specs.length > MAX_HOSTS) {
    throw new NetLabError('NETLAB_BAD_CONFIG', `a lab has 1..${MAX_HOSTS} hosts, got ${specs.length}`);
  }
  const names = new Set<string>();
  for (const spec of specs) {
    if (!HOST_NAME.test(spec.name)) {
      throw new NetLabError('NETLAB_BAD_CONFIG', `host name must match ${HOST_NAME}, got ${spec.name}`);
    }
    if (names.has(spec.name)) throw new NetLabError('NETLAB_BAD_CONFIG', `duplicate host name ${spec.name}`);
    names.add(spec.name);
    validateLink(spec.name, spec);
  }
  if (
    parameters.subnet !== undefined &&
    !/^10\.\d{1,3}\.\d{1,3}$|^192\.168\.\d{1,3}$/.test(parameters.subnet)
  ) {
    throw new NetLabError(
      'NETLAB_BAD_CONFIG',
      `subnet must be private, like 10.213.77, got ${parameters.subnet}`,
    );
  }
  const binary = forwarderBinary();
  // Serialise set-up inside this process so two labs never pick the same root subnet.
  const run = setupChain.then(() => setUp(binary, prefix, specs, parameters.subnet));
  setupChain = run.catch(() => undefined);
  return run;
}

async function setUp(
  binary: string,
  prefix: string,
  specs: readonly NetLabHostSpec[],
  subnetOption: string | undefined,
): Promise<NetLab> {
  cleanupStaleNetLabs(prefix);
  const labId = `${process.pid}-${(labCounter++).toString(36)}`;
  const hasRoot = specs.some((s) => s.name === 'root');
  let subnet = subnetOption ?? '10.213.77';
  // A root host puts the lab's /24 on a root-namespace interface: claim it with a lock file so
  // labs of other processes never pick the same one.
  let subnetLock: string | undefined;
  if (hasRoot) {
    const used = usedRootSubnets();
    const candidates =
      subnetOption === undefined
        ? Array.from({ length: 254 - 77 }, (_, k) => `10.213.${77 + k}`)
        : [subnetOption];
    for (const candidate of candidates) {
      if (used.has(candidate)) continue;
      const lock = claimSubnet(candidate);
      if (lock !== undefined) {
        subnet = candidate;
        subnetLock = lock;
        break;
      }
    }
    if (subnetLock === undefined) {
      throw new NetLabError(
        subnetOption === undefined ? 'NETLAB_SETUP_FAILED' : 'NETLAB_BAD_CONFIG',
        subnetOption === undefined
          ? 'no free 10.213.N.0/24 subnet in the root namespace'
          : `subnet ${subnetOption} is already used in the root namespace`,
      );
    }
  }
  const releaseSubnet = (): void => {
    if (subnetLock === undefined) return;
    try {
      unlinkSync(subnetLock);
    } catch {
      // already gone
    }
    subnetLock = undefined;
  };
  const layout = specs.map((spec, i) => ({
    spec,
    ip: `${subnet}.${10 + i}`,
    netns: spec.name === 'root' ? null : `${prefix}-${labId}-${spec.name}`,
    iface: `${prefix}${labId.replace('-', 'x')}x${i}`.slice(-15),
    mac: `02:fa:00:00:00:${i.toString(16).padStart(2, '0')}`,
  }));
  // Static neighbour entries: the first packet between two hosts pays no ARP round trip (an edge
  // 40 ms away is never on the player's LAN), so the first probe already shows the configured RTT.
  const neighbours = (self: (typeof layout)[number]): string[] =>
    layout
      .filter((l) => l !== self)
      .map((l) => `neigh replace ${l.ip} lladdr ${l.mac} dev ${self.iface} nud permanent`);
  const ifaces = new Set(layout.map((l) => l.iface));
  if (ifaces.size !== layout.length) {
    releaseSubnet();
    throw new NetLabError('NETLAB_SETUP_FAILED', 'interface names collide');
  }

  const forwarder = spawn(
    binary,
    layout.map((l) => l.iface),
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines = createInterface({ input: forwarder.stdout });
  const waiting: ((line: string) => void)[] = [];
  let forwarderStderr = '';
  forwarder.stderr.on('data', (d: Buffer) => {
    forwarderStderr += d.toString();
  });
  let forwarderExited = false;
  forwarder.on('exit', () => {
    forwarderExited = true;
    for (const w of waiting.splice(0)) w('err forwarder exited');
  });
  forwarder.stdin.on('error', () => undefined); // EPIPE after the forwarder exits; close() handles it
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = (): Promise<string> =>
    new Promise((resolve) => {
      if (forwarderExited) resolve('err forwarder exited');
      else waiting.push(resolve);
    });

  const children = new Set<ChildProcess>();
  let closed = false;
  const createdNetns: string[] = [];
  const closeSync = (): void => {
    if (closed) return;
    closed = true;
    liveLabs.delete(lab);
    for (const child of children) killGroup(child, 'SIGKILL');
    if (!forwarderExited) forwarder.kill('SIGKILL');
    for (const netns of createdNetns) {
      killNetnsPids(netns);
      spawnSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
    }
    releaseSubnet();
  };
  const lab: LiveLab = { closeSync };
  liveLabs.add(lab);
  hookExit();

  try {
    const ready = await nextLine();
    if (ready !== 'ready') {
      throw new NetLabError(
        'NETLAB_SETUP_FAILED',
        `forwarder did not start: ${forwarderStderr.trim() || ready}`,
      );
    }
    const rootLines: string[] = [];
    for (const l of layout) {
      if (l.netns === null) {
        rootLines.push(
          `link set ${l.iface} address ${l.mac} addrgenmode none`,
          `addr add ${l.ip}/24 dev ${l.iface}`,
          `link set ${l.iface} up`,
          ...neighbours(l),
        );
      } else {
        rootLines.push(
          `link set ${l.iface} address ${l.mac}`,
          `netns add ${l.netns}`,
          `link set ${l.iface} netns ${l.netns}`,
        );
        createdNetns.push(l.netns);
      }
    }
    await ipBatch([], rootLines);
    await Promise.all(
      layout
        .filter((l) => l.netns !== null)
        .map((l) =>
          ipBatch(
            ['-n', l.netns as string],
            [
              'link set lo up',
              `link set ${l.iface} addrgenmode none`,
              `addr add ${l.ip}/24 dev ${l.iface}`,
              `link set ${l.iface} up`,
              ...neighbours(l),
            ],
          ),
        ),
    );
  } catch (error) {
    closeSync();
    throw error instanceof NetLabError
      ? error
      : new NetLabError('NETLAB_SETUP_FAILED', 'setting up the lab failed', { cause: error });
  }

  const current = new Map<string, Required<NetLabLink>>();
  const control = async (command: string): Promise<string> => {
    if (closed) throw new NetLabError('NETLAB_CLOSED', 'the lab is closed');
    const answer = nextLine();
    forwarder.stdin.write(`${command}\n`);
    const line = await answer;
    if (line.startsWith('err')) throw new NetLabError('NETLAB_SETUP_FAILED', `forwarder: ${line}`);
    return line;
  };
  const applyLink = async (index: number, name: string, link: NetLabLink): Promise<void> => {
    validateLink(name, link);
    const merged: Required<NetLabLink> = {
      delayMs: 0,
      jitterMs: 0,
      lossPct: 0,
      down: false,
      reorder: false,
      rateKbit: 0,
      ...current.get(name),
    };
    const previousRate = merged.rateKbit;
    for (const key of ['delayMs', 'jitterMs', 'lossPct', 'down', 'reorder', 'rateKbit'] as const) {
      const v = link[key];
      if (v !== undefined) (merged as Record<string, unknown>)[key] = v;
    }
    if (merged.rateKbit !== previousRate) await shape(layout[index], merged.rateKbit);
    await control(
      `set ${index} ${Math.round(merged.delayMs * 1000)} ${Math.round(merged.jitterMs * 1000)} ` +
        `${Math.round(merged.lossPct * 10_000)} ${merged.down ? 1 : 0} ${merged.reorder ? 1 : 0}`,
    );
    current.set(name, merged);
  };

  const hosts: NetLabHost[] = layout.map((l) => {
    const wrap = (command: string, args: readonly string[]): [string, string[]] =>
      l.netns === null ? [command, [...args]] : [ipPath(), ['netns', 'exec', l.netns, command, ...args]];
    const host: NetLabHost = {
      name: l.spec.name,
      ip: l.ip,
      netns: l.netns,
      iface: l.iface,
      spawn(command, args = [], options = {}) {
        if (closed) throw new NetLabError('NETLAB_CLOSED', 'the lab is closed');
        const [cmd, argv] = wrap(command, args);
        // Own process group, so close() also kills grandchildren (e.g. tsx → node).
        const child = spawn(cmd, argv, { ...options, detached: true });
        children.add(child);
        child.on('exit', () => children.delete(child));
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
  });

  try {
    for (const [i, l] of layout.entries()) await applyLink(i, l.spec.name, l.spec);
  } catch (error) {
    closeSync();
    throw error;
  }

  let closing: Promise<void> | undefined;
  const netLab: NetLab = {
    hosts,
    subnet,
    forwarderPid: forwarder.pid ?? -1,
    get closed() {
      return closed;
    },
    host(name) {
      const h = hosts.find((x) => x.name === name);
      if (h === undefined) throw new NetLabError('NETLAB_BAD_CONFIG', `no host named ${name} in this lab`);
      return h;
    },
    async setLink(name, link) {
      const index = hosts.findIndex((x) => x.name === name);
      if (index < 0) throw new NetLabError('NETLAB_BAD_CONFIG', `no host named ${name} in this lab`);
      await applyLink(index, name, link);
    },
    async stats() {
      return JSON.parse(await control('stats')) as NetLabStats;
    },
    async resetStats() {
      await control('reset');
    },
    close() {
      closing ??= (async () => {
        if (closed) return;
        // Polite first: SIGTERM to every child group, up to 1 s to exit, then the hard path.
        const exits = [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              killGroup(child, 'SIGTERM');
            }),
        );
        await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 1000))]);
        const forwarderGone = new Promise<void>((resolve) => {
          if (forwarderExited) resolve();
          else forwarder.once('exit', () => resolve());
        });
        forwarder.stdin.end(); // the forwarder exits on EOF; its TAPs vanish with it
        await Promise.race([forwarderGone, new Promise((r) => setTimeout(r, 1000))]);
        closeSync();
      })();
      return closing;
    },
  };
  return netLab;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}
