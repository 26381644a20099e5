import type { TestProject } from 'vitest/node';
import {
  type AnvilNode,
  LOCAL_PAYMENTS_CHAIN_ID,
  LOCAL_STAKING_CHAIN_ID,
  startAnvil,
} from '../../contracts-client/src/localChain.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** anvil serving as the staking chain (chain id 31337). */
    stakingRpcUrl: string;
    stakingChainId: number;
    /** A second anvil serving as the payments chain (chain id 31338). */
    paymentsRpcUrl: string;
    paymentsChainId: number;
  }
}

/**
 * Starts two anvil nodes on free loopback ports, the staking chain and the payments chain, hands their
 * URLs to tests and stops them afterwards. Tests deploy their own contracts on them.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nodes: AnvilNode[] = [];
  try {
    nodes.push(await startAnvil({ chainId: LOCAL_STAKING_CHAIN_ID }));
    nodes.push(await startAnvil({ chainId: LOCAL_PAYMENTS_CHAIN_ID }));
  } catch (error) {
    await Promise.all(nodes.map((n) => n.close()));
    throw error;
  }
  const [staking, payments] = nodes as [AnvilNode, AnvilNode];
  project.provide('stakingRpcUrl', staking.rpcUrl);
  project.provide('stakingChainId', staking.chainId);
  project.provide('paymentsRpcUrl', payments.rpcUrl);
  project.provide('paymentsChainId', payments.chainId);
  return async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
}
