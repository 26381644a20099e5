import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetLabError } from './NetLabError.js';
import { pidAlive } from './pidAlive.js';

/** A /24 claimed in the root namespace; `release()` (idempotent) removes its lock file. */
export interface RootSubnetClaim {
  subnet: string;
  release(): void;
}

function usedRootSubnets(): Set<string> {
  const r = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  const used = new Set<string>();
  for (const m of (r.stdout ?? '').matchAll(/inet (\d+\.\d+\.\d+)\.\d+\//g)) {
    if (m[1] !== undefined) used.add(m[1]);
  }
  return used;
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

/**
 * Claims a /24 for a lab with a `root` host: the given one, or else the first `10.213.N` (N ≥ 77) not on
 * a root-namespace interface, with a lock file so labs of other processes never pick the same one.
 */
export function claimRootSubnet(subnetOption: string | undefined): RootSubnetClaim {
  const used = usedRootSubnets();
  const candidates =
    subnetOption === undefined
      ? Array.from({ length: 254 - 77 }, (_, k) => `10.213.${77 + k}`)
      : [subnetOption];
  for (const candidate of candidates) {
    if (used.has(candidate)) continue;
    let lock = claimSubnet(candidate);
    if (lock !== undefined) {
      return {
        subnet: candidate,
        release() {
          if (lock === undefined) return;
          try {
            unlinkSync(lock);
          } catch {
            // already gone
          }
          lock = undefined;
        },
      };
    }
  }
  throw new NetLabError(
    subnetOption === undefined ? 'NETLAB_SETUP_FAILED' : 'NETLAB_BAD_CONFIG',
    subnetOption === undefined
      ? 'no free 10.213.N.0/24 subnet in the root namespace'
      : `subnet ${subnetOption} is already used in the root namespace`,
  );
}
