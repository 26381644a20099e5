import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Address } from 'viem';
import { FarplayError } from '../../protocol/errors.js';

/** Default folder of deployment files, relative to the working directory. */
export const DEFAULT_DEPLOYMENTS_DIR = '.farplay/deployments';

/** What a deploy wrote for one chain and role; other parts read it with `readDeployment`. */
export interface Deployment {
  chainId: number;
  role: 'payments' | 'staking';
  token: Address;
  /** True when `token` is TestATH (local chains only). */
  testToken: boolean;
  timelock: Address;
  checkerRegistry: Address;
  escrow?: Address;
  staking?: Address;
  deployedAt: string;
}

function fileOf(chainId: number, role: Deployment['role'], dir: string): string {
  return join(dir, `${chainId}-${role}.json`);
}

/** Writes `<dir>/<chainId>-<role>.json` atomically (temp file + rename). */
export function writeDeployment(deployment: Deployment, dir: string = DEFAULT_DEPLOYMENTS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = fileOf(deployment.chainId, deployment.role, dir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(deployment, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Reads the deployment of `role` on `chainId`; throws CHAIN_NO_DEPLOYMENT if there is none. */
export function readDeployment(
  chainId: number,
  role: Deployment['role'],
  dir: string = DEFAULT_DEPLOYMENTS_DIR,
): Deployment {
  const file = fileOf(chainId, role, dir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FarplayError('CHAIN_NO_DEPLOYMENT', `no ${role} deployment for chain ${chainId} at ${file}`, {
      cause: error,
    });
  }
  let parsed: Deployment | null;
  try {
    parsed = JSON.parse(text) as Deployment | null;
  } catch (error) {
    throw new FarplayError('CHAIN_NO_DEPLOYMENT', `${file} is not valid JSON`, { cause: error });
  }
  if (parsed?.chainId !== chainId || parsed.role !== role) {
    throw new FarplayError('CHAIN_NO_DEPLOYMENT', `${file} describes another chain or role`);
  }
  return parsed;
}
