import { type Abi, type Address, type Hex, keccak256, toHex, zeroAddress, zeroHash } from 'viem';
import { FarplayError } from '../../protocol/errors.js';
import { checkerRegistryAbi, checkerRegistryBytecode } from './abis/CheckerRegistry.js';
import { sessionEscrowAbi, sessionEscrowBytecode } from './abis/SessionEscrow.js';
import { stakingRegistryAbi, stakingRegistryBytecode } from './abis/StakingRegistry.js';
import { testATHAbi, testATHBytecode } from './abis/TestATH.js';
import { timelockControllerAbi, timelockControllerBytecode } from './abis/TimelockController.js';
import { toChainError } from './chainErrors.js';
import { type CheckerSet, sortAddresses } from './checkers.js';
import type { Deployment } from './deployment.js';
import { type ChainClients, sendTx } from './tx.js';

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

/**
 * Who governs through the timelock: proposers schedule, executors execute after the delay (the zero address =
 * anyone), cancellers cancel a scheduled operation. Each set non-empty; they may differ.
 */
export interface GovernanceRoles {
  proposers: readonly Address[];
  executors: readonly Address[];
  cancellers: readonly Address[];
}

/** What every chain gets: the ATH token, a timelock and a checker registry owned by it. */
export interface DeployCommonParameters {
  /** The ATH token; omitted on local chains = deploy TestATH. */
  token?: Address;
  checkerSet: CheckerSet;
  /** Seconds every checker/fee change waits in the timelock; must be > 0. Default 2 days. */
  timelockDelay?: bigint;
  /** Proposer, executor and canceller of the timelock when `governance` is not given; default the deployer. */
  admin?: Address;
  /** Separate proposer / executor / canceller sets; default all three = [admin]. */
  governance?: GovernanceRoles;
}

export interface DeployPaymentsParameters extends DeployCommonParameters {
  treasury: Address;
  /** Protocol fee in basis points, at most 1000. Default 250. */
  feeBps?: number;
  /** Seconds between requestWithdraw and withdraw; must be > 0. Default 1 day. */
  withdrawDelay?: number;
  /** Seconds after unlock during which a withdrawal can be claimed before it expires; > 0. Default 1 day. */
  withdrawClaimWindow?: number;
}

export interface DeployStakingParameters extends DeployCommonParameters {
  /** Minimum operator stake in ATH wei. Default 1000 ATH. */
  minStake?: bigint;
  /** Unbonding delay in seconds; must be > 0. Default 7 days. */
  unbondingDelay?: bigint;
  /** Share of a slash that goes to the harmed player, in bps. Default 5000. */
  playerBps?: number;
  /** Share of a slash that goes to the finder, in bps. Default 1000 (the rest is burned). */
  finderBps?: number;
}

const CANCELLER_ROLE = keccak256(toHex('CANCELLER_ROLE'));

const same = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase();

/** The roles to give the timelock, checked (CHAIN_BAD_CONFIG): each set non-empty. */
export function governanceOf(p: Pick<DeployCommonParameters, 'admin' | 'governance'>, deployer: Address) {
  const admin = p.admin ?? deployer;
  const roles = p.governance ?? { proposers: [admin], executors: [admin], cancellers: [admin] };
  for (const [name, list] of Object.entries(roles) as [string, readonly Address[]][]) {
    if (list.length === 0) throw new FarplayError('CHAIN_BAD_CONFIG', `governance.${name} is empty`);
  }
  return roles;
}

/**
 * Deploys the TimelockController with exactly these roles. OpenZeppelin makes every proposer a canceller too; when
 * the canceller set differs, the deployer is admin for the two or three transactions that fix it, then renounces.
 */
async function deployTimelock(
  clients: ChainClients,
  delay: bigint,
  roles: GovernanceRoles,
): Promise<Address> {
  const deployer = clients.walletClient.account.address;
  const extraCancellers = roles.cancellers.filter((c) => !roles.proposers.some((x) => same(x, c)));
  const notCancellers = roles.proposers.filter((x) => !roles.cancellers.some((c) => same(x, c)));
  const adjust = extraCancellers.length > 0 || notCancellers.length > 0;
  const timelock = await deployContract(clients, timelockControllerAbi, timelockControllerBytecode, [
    delay,
    [...roles.proposers],
    [...roles.executors],
    adjust ? deployer : zeroAddress,
  ]);
  if (!adjust) return timelock;
  const call = (functionName: 'grantRole' | 'revokeRole' | 'renounceRole', role: Hex, account: Address) =>
    sendTx(clients, { address: timelock, abi: timelockControllerAbi, functionName, args: [role, account] });
  for (const c of extraCancellers) await call('grantRole', CANCELLER_ROLE, c);
  for (const x of notCancellers) await call('revokeRole', CANCELLER_ROLE, x);
  await call('renounceRole', zeroHash, deployer);
  return timelock;
}

async function deployCommon(clients: ChainClients, p: DeployCommonParameters, withRegistry = true) {
  const timelockDelay = p.timelockDelay ?? 2n * 86_400n;
  if (timelockDelay <= 0n) throw new FarplayError('CHAIN_BAD_CONFIG', 'timelockDelay must be > 0');
  const roles = governanceOf(p, clients.walletClient.account.address);
  const token = p.token ?? (await deployTestATH(clients));
  const timelock = await deployTimelock(clients, timelockDelay, roles);
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
  // The escrow refuses these too; checking first gives a clear code instead of a failed deployment.
  if (p.treasury.toLowerCase() === zeroAddress) {
    throw new FarplayError('CHAIN_BAD_CONFIG', 'treasury must not be the zero address');
  }
  if ((p.withdrawDelay ?? 1) <= 0 || (p.withdrawClaimWindow ?? 1) <= 0) {
    throw new FarplayError('CHAIN_BAD_CONFIG', 'withdrawDelay and withdrawClaimWindow must be > 0');
  }
  const common = await deployCommon(clients, p, false);
  const escrow = await deployContract(clients, sessionEscrowAbi, sessionEscrowBytecode, [
    common.token,
    common.timelock,
    p.treasury,
    p.feeBps ?? 250,
    p.withdrawDelay ?? 86_400,
    p.withdrawClaimWindow ?? 86_400,
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
