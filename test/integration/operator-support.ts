import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Address, Chain } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { expect } from 'vitest';
import { localChain } from '../../contracts-client/src/chains.js';
import { sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployStakingChain } from '../../contracts-client/src/deploy.js';
import { type Deployment, writeDeployment } from '../../contracts-client/src/deployment.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import { runFarplayEdge } from '../../edge/cli/farplay-edge.js';
import { decryptKeystore } from '../../edge/operator/decryptKeystore.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';

/** What one farplay-edge run printed and returned. */
export interface CliRun {
  code: number;
  /** stdout lines. */
  lines: string[];
  /** stderr lines. */
  errors: string[];
}

/** Runs `farplay-edge <argv>` in process, as an operator would in a terminal (no TTY), and captures what it prints. */
export async function runCli(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  const lines: string[] = [];
  const errors: string[] = [];
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  const code = await runFarplayEdge({
    argv,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    output: {
      out: (line) => lines.push(line),
      err: (line) => errors.push(line),
      progress: () => {},
    },
    stdin,
    stderr,
  });
  return { code, lines, errors };
}

/** A staking chain deployed for one test file, written where `farplay-edge init --deployments` finds it. */
export interface OperatorChain {
  chain: Chain;
  rpcUrl: string;
  chainId: number;
  deployment: Deployment;
  deploymentsDir: string;
}

/** Deploys the staking contracts (three checkers, quorum 3) on the chain at `rpcUrl` for one test file. */
export async function deployOperatorChain(
  rpcUrl: string,
  chainId: number,
  options: { unbondingDelay?: bigint } = {},
): Promise<OperatorChain> {
  const chain = localChain(chainId, rpcUrl);
  const deploymentsDir = mkdtempSync(join(tmpdir(), 'farplay-operator-deploy-'));
  const accounts = localAccounts();
  const deployment = await deployStakingChain(createChainClients(chain, accounts.deployer), {
    checkerSet: {
      checkers: sortAddresses(accounts.checkers.map((c) => c.address)),
      quorum: 3,
      policyHash: qosPolicyHash(),
    },
    timelockDelay: 60n,
    ...(options.unbondingDelay === undefined ? {} : { unbondingDelay: options.unbondingDelay }),
  });
  writeDeployment(deployment, deploymentsDir);
  return { chain, rpcUrl, chainId, deployment, deploymentsDir };
}

/** `farplay-edge init` into a fresh folder against `operatorChain` (and a matchmaker when given); returns the folder. */
export async function initOperatorEdge(
  operatorChain: OperatorChain,
  env: Record<string, string>,
  matchmakerUrl?: string,
): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'farplay-operator-')), 'edge');
  const init = await runCli(
    [
      'init',
      '--dir',
      dir,
      ...(matchmakerUrl ? ['--matchmaker', matchmakerUrl] : []),
      '--staking-rpc',
      operatorChain.rpcUrl,
      '--staking-chain-id',
      String(operatorChain.chainId),
      '--deployments',
      operatorChain.deploymentsDir,
      '--scrypt-n',
      '1024',
    ],
    env,
  );
  expect(init.code).toBe(0);
  return dir;
}

/** The address of the owner key `init` wrote into `dir`. */
export function ownerAddressOf(dir: string, passphrase: string): Address {
  return privateKeyToAccount(decryptKeystore(readFileSync(join(dir, 'owner-key.json'), 'utf8'), passphrase))
    .address;
}
