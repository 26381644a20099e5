import { type Account, type Chain, createPublicClient, createWalletClient, http } from 'viem';
import type { ChainClients } from './tx.js';

/** Public + wallet clients for `chain` over its first RPC URL, sending as `account`. */
export function createChainClients(chain: Chain, account: Account): ChainClients {
  const transport = http(chain.rpcUrls.default.http[0], { retryCount: 0 });
  return {
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }),
    walletClient: createWalletClient({ chain, transport, account }),
  };
}
