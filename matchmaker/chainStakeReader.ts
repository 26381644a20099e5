import { type Address, createPublicClient, http, type PublicClient } from 'viem';
import { localChain } from '../contracts-client/src/chains.js';
import { isEdgeActive, type StakingRef } from '../contracts-client/src/staking.js';

/** Reads whether an edge is active (its operator's stake ≥ the minimum). */
export type StakeReader = (edgeId: string) => Promise<boolean>;

/** A StakeReader over contracts-client: `isActive(edge)` of the StakingRegistry at `registry` on `rpcUrl`. */
export function chainStakeReader(options: {
  rpcUrl: string;
  chainId: number;
  registry: Address;
}): StakeReader {
  const publicClient = createPublicClient({
    chain: localChain(options.chainId, options.rpcUrl),
    transport: http(options.rpcUrl, { retryCount: 0, timeout: 5000 }),
  }) as PublicClient;
  // isActive reads neither the token nor the chain id from the ref; the registry address is what counts.
  const staking: StakingRef = {
    address: options.registry,
    chainId: options.chainId,
    token: '0x0000000000000000000000000000000000000000',
  };
  return (edgeId) => isEdgeActive(publicClient, staking, edgeId as Address);
}
