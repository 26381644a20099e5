import type { ChildProcess } from 'node:child_process';
import { claimRootSubnet } from './claimRootSubnet.js';
import { cleanupStaleNetLabs } from './cleanupStaleNetLabs.js';
import { closeLabsOnExit } from './closeLabsOnExit.js';
import { createNetLabHost, type NetLabHost } from './createNetLabHost.js';
import { ForwarderProcess, type NetLabStats } from './ForwarderProcess.js';
import { forwarderBinary } from './forwarderBinary.js';
import { killGroup } from './killGroup.js';
import { NetLabError } from './NetLabError.js';
import { type NetLabLink, validateLink } from './NetLabLink.js';
import { netLabUnsupportedReason } from './netLabUnsupportedReason.js';
import { removeNetns } from './removeNetns.js';
import { shapeUpstream } from './shapeUpstream.js';
import { wireNetLab } from './wireNetLab.js';

/**
 * netlab: emulated hosts (network namespaces, one TAP each) joined by a userspace forwarder that adds
 * per-host one-way delay, jitter and loss — this kernel has no netem. RTT(a,b) = 2·(delay_a + delay_b).
 * Test tooling only; see README.md beside this file.
 */

/** One emulated host. The name `root` is special: its TAP stays in the root namespace (the test process). */
export interface NetLabHostSpec extends NetLabLink {
  name: string;
}

/** What createNetLab builds. */
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

const MAX_HOSTS = 60;
const HOST_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/i;

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
  // A root host puts the lab's /24 on a root-namespace interface: claim it so labs of other processes
  // never pick the same one.
  const claim = specs.some((s) => s.name === 'root') ? claimRootSubnet(subnetOption) : undefined;
  const subnet = claim?.subnet ?? subnetOption ?? '10.213.77';
  const layout = specs.map((spec, i) => ({
    spec,
    ip: `${subnet}.${10 + i}`,
    netns: spec.name === 'root' ? null : `${prefix}-${labId}-${spec.name}`,
    iface: `${prefix}${labId.replace('-', 'x')}x${i}`.slice(-15),
    mac: `02:fa:00:00:00:${i.toString(16).padStart(2, '0')}`,
  }));
  if (new Set(layout.map((l) => l.iface)).size !== layout.length) {
    claim?.release();
    throw new NetLabError('NETLAB_SETUP_FAILED', 'interface names collide');
  }

  const forwarder = new ForwarderProcess(
    binary,
    layout.map((l) => l.iface),
  );
  const children = new Set<ChildProcess>();
  let closed = false;
  const createdNetns: string[] = [];
  const closeSync = (): void => {
    if (closed) return;
    closed = true;
    unhookExit();
    for (const child of children) killGroup(child, 'SIGKILL');
    forwarder.kill();
    for (const netns of createdNetns) removeNetns(netns);
    claim?.release();
  };
  const unhookExit = closeLabsOnExit({ closeSync });

  try {
    const ready = await forwarder.nextLine();
    if (ready !== 'ready') {
      throw new NetLabError(
        'NETLAB_SETUP_FAILED',
        `forwarder did not start: ${forwarder.stderr.trim() || ready}`,
      );
    }
    await wireNetLab(layout, createdNetns);
  } catch (error) {
    closeSync();
    throw error instanceof NetLabError
      ? error
      : new NetLabError('NETLAB_SETUP_FAILED', 'setting up the lab failed', { cause: error });
  }

  const current = new Map<string, Required<NetLabLink>>();
  const control = async (command: string): Promise<string> => {
    if (closed) throw new NetLabError('NETLAB_CLOSED', 'the lab is closed');
    return forwarder.command(command);
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
    if (merged.rateKbit !== previousRate) await shapeUpstream(layout[index], merged.rateKbit);
    await control(
      `set ${index} ${Math.round(merged.delayMs * 1000)} ${Math.round(merged.jitterMs * 1000)} ` +
        `${Math.round(merged.lossPct * 10_000)} ${merged.down ? 1 : 0} ${merged.reorder ? 1 : 0}`,
    );
    current.set(name, merged);
  };

  const hostContext = { isClosed: () => closed, children };
  const hosts = layout.map((l) => createNetLabHost({ ...l, name: l.spec.name }, hostContext));

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
    forwarderPid: forwarder.pid,
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
        await forwarder.end(1000);
        closeSync();
      })();
      return closing;
    },
  };
  return netLab;
}
