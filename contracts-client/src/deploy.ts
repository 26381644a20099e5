import { type Abi, type Address, type Hex, zeroAddress } from 'viem';
import { checkerRegistryAbi, checkerRegistryBytecode } from './abis/CheckerRegistry.js';
import { sessionEscrowAbi, sessionEscrowBytecode } from './abis/SessionEscrow.js';
import { stakingRegistryAbi, stakingRegistryBytecode } from './abis/StakingRegistry.js';
import { testATHAbi, testATHBytecode } from './abis/TestATH.js';
import { timelockControllerAbi, timelockControllerBytecode } from './abis/TimelockController.js';
import { toChainError } from './chainErrors.js';
import { type CheckerSet, sortAddresses } from './checkers.js';
import type { Deployment } from './deployment.js';
import type { ChainClients } from './tx.js';

async function deployContract(
  clients: ChainClients,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<Address> {
  try {
    const hash = await clients.walletClient.deployContract({ abi, bytecode, args });
    const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
    if (
      receipt.contractAddress === null ||
      receipt.contractAddress === undefined ||
      receipt.status !== 'success'
    ) {
      throw new Error(`deployment transaction ${hash} failed`);
    }
    return receipt.contractAddress;
  } catch (error) {
    throw toChainError(error);
  }
}

/** Deploys TestATH (local chains only). */
export function deployTestATH(clients: ChainClients): Promise<Address> {
  return deployContract(clients, testATHAbi, testATHBytecode, []);
}

/** What every chain gets: the ATH token, a timelock and a checker registry owned by it. */
export interface DeployCommonParameters {
  /** The ATH token; omitted on local chains = deploy TestATH. */
  token?: Address;
  checkerSet: CheckerSet;
  /** Seconds every checker/fee change waits in the timelock. Default 2 days. */
  timelockDelay?: bigint;
  /** Proposer and executor of the timelock; default the deployer. */
  admin?: Address;
}

export interface DeployPaymentsParameters extends DeployCommonParameters {
  treasury: Address;
  /** Protocol fee in basis points, at most 1000. Default 250. */
  feeBps?: number;
  /** Seconds between requestWithdraw and withdraw. Default 1 day. */
  withdrawDelay?: number;
}

export interface DeployStakingParameters extends DeployCommonParameters {
  /** Minimum operator stake in ATH wei. Default 1000 ATH. */
  minStake?: bigint;
  /** Unbonding delay in seconds. Default 7 days. */
  unbondingDelay?: bigint;
  /** Share of a slash that goes to the harmed player, in bps. Default 5000. */
  playerBps?: number;
  /** Share of a slash that goes to the finder, in bps. Default 1000 (the rest is burned). */
  finderBps?: number;
}

async function deployCommon(clients: ChainClients, p: DeployCommonParameters, withRegistry = true) {
  const admin = p.admin ?? clients.walletClient.account.address;
  const token = p.token ?? (await deployTestATH(clients));
  const timelock = await deployContract(clients, timelockControllerAbi, timelockControllerBytecode, [
    p.timelockDelay ?? 2n * 86_400n,
    [admin],
    [admin],
    zeroAddress,
  ]);
  const checkerRegistry = withRegistry
    ? await deployContract(clients, checkerRegistryAbi, checkerRegistryBytecode, [
        timelock,
        sortAddresses(p.checkerSet.checkers),
        BigInt(p.checkerSet.quorum),
        p.checkerSet.policyHash,
      ])
    : zeroAddress;
  return { token, timelock, checkerRegistry, testToken: p.token === undefined };
}

/** Deploys the payments chain: token (TestATH if none), timelock, session escrow (also the checker config). */
export async function deployPaymentsChain(
  clients: ChainClients,
  p: DeployPaymentsParameters,
): Promise<Deployment> {
  // The escrow is its own checker config (CheckerConfig, owned by the timelock): deployment.checkerRegistry = escrow.
  const common = await deployCommon(clients, p, false);
  const escrow = await deployContract(clients, sessionEscrowAbi, sessionEscrowBytecode, [
    common.token,
    common.timelock,
    p.treasury,
    p.feeBps ?? 250,
    p.withdrawDelay ?? 86_400,
    sortAddresses(p.checkerSet.checkers),
    BigInt(p.checkerSet.quorum),
    p.checkerSet.policyHash,
  ]);
  return {
    chainId: await clients.publicClient.getChainId(),
    role: 'payments',
    token: common.token,
    testToken: common.testToken,
    timelock: common.timelock,
    checkerRegistry: escrow,
    escrow,
    deployedAt: new Date().toISOString(),
  };
}

/** Deploys the staking chain: token (TestATH if none), timelock, checker registry, staking registry. */
export async function deployStakingChain(
  clients: ChainClients,
  p: DeployStakingParameters,
): Promise<Deployment> {
  const common = await deployCommon(clients, p);
  const staking = await deployContract(clients, stakingRegistryAbi, stakingRegistryBytecode, [
    common.token,
    common.checkerRegistry,
    p.minStake ?? 1000n * 10n ** 18n,
    p.unbondingDelay ?? 7n * 86_400n,
    p.playerBps ?? 5000,
    p.finderBps ?? 1000,
  ]);
  return {
    chainId: await clients.publicClient.getChainId(),
    role: 'staking',
    token: common.token,
    testToken: common.testToken,
    timelock: common.timelock,
    checkerRegistry: common.checkerRegistry,
    staking,
    deployedAt: new Date().toISOString(),
  };
}
