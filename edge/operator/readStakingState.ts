import { type Address, createPublicClient, erc20Abi, http, type PublicClient } from 'viem';
import { stakingRegistryAbi } from '../../contracts-client/src/abis/StakingRegistry.js';
import { toChainError } from '../../contracts-client/src/chainErrors.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { readDeployment } from '../../contracts-client/src/deployment.js';
import type { StakingRef } from '../../contracts-client/src/staking.js';
import { FarplayError } from '../../protocol/errors.js';

/** Where the staking registry is: an RPC endpoint, the chain id it must serve and the deployment files. */
export interface StakingLocation {
  rpcUrl: string;
  chainId: number;
  deploymentsDir: string;
}

/** The edge's stake and on-chain registration as the StakingRegistry sees them. */
export interface StakingState {
  staking: StakingRef;
  publicClient: PublicClient;
  /** Smallest operator stake that makes an edge active, ATH wei. */
  minStake: bigint;
  /** Seconds unbonded stake waits before it can be withdrawn. */
  unbondingDelay: bigint;
  /** The owner that registered the edge (zero address: not registered). */
  owner: Address | undefined;
  /** Tokens behind the owner's active shares. */
  ownStake: bigint;
  /** Tokens behind the owner's unbonding shares. */
  unbonding: bigint;
  /** Stake of the owner ≥ minimum. */
  active: boolean;
  /** The configured owner's ATH balance (when `owner` was given). */
  ownerBalance?: bigint;
}

/** Connects to the staking chain, checks it is the one configured (OPERATOR_WRONG_CHAIN), and reads the edge's state. */
export async function readStakingState(
  location: StakingLocation,
  edge: Address,
  owner?: Address,
): Promise<StakingState> {
  const chain = localChain(location.chainId, location.rpcUrl);
  const publicClient = createPublicClient({
    chain,
    transport: http(location.rpcUrl, { retryCount: 0, timeout: 5000 }),
  });
  let served: number;
  try {
    served = await publicClient.getChainId();
  } catch (error) {
    throw new FarplayError('CHAIN_UNAVAILABLE', `the staking chain RPC ${location.rpcUrl} did not answer`, {
      cause: toChainError(error),
    });
  }
  if (served !== location.chainId) {
    throw new FarplayError(
      'OPERATOR_WRONG_CHAIN',
      `${location.rpcUrl} serves chain ${served}, the config names ${location.chainId}`,
      { details: { served, configured: location.chainId } },
    );
  }
  const deployment = readDeployment(location.chainId, 'staking', location.deploymentsDir);
  if (!deployment.staking) {
    throw new FarplayError(
      'CHAIN_NO_DEPLOYMENT',
      `no staking registry in the deployment of chain ${location.chainId}`,
    );
  }
  const staking: StakingRef = {
    address: deployment.staking,
    chainId: location.chainId,
    token: deployment.token,
  };
  try {
    const contract = { address: staking.address, abi: stakingRegistryAbi } as const;
    const [minStake, unbondingDelay, pool] = await Promise.all([
      publicClient.readContract({ ...contract, functionName: 'minStake' }),
      publicClient.readContract({ ...contract, functionName: 'unbondingDelay' }),
      publicClient.readContract({ ...contract, functionName: 'pools', args: [edge] }),
    ]);
    const registeredOwner = pool[0] === '0x0000000000000000000000000000000000000000' ? undefined : pool[0];
    let ownStake = 0n;
    let unbonding = 0n;
    if (registeredOwner) {
      [ownStake, unbonding] = await publicClient.readContract({
        ...contract,
        functionName: 'stakeOf',
        args: [edge, registeredOwner],
      });
    }
    const state: StakingState = {
      staking,
      publicClient: publicClient as PublicClient,
      minStake,
      unbondingDelay,
      owner: registeredOwner,
      ownStake,
      unbonding,
      active: registeredOwner !== undefined && ownStake >= minStake,
    };
    if (owner) {
      state.ownerBalance = await publicClient.readContract({
        address: staking.token,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [owner],
      });
    }
    return state;
  } catch (error) {
    throw toChainError(error);
  }
}
