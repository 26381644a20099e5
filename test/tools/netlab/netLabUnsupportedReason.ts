import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

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
