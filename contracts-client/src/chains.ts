import { type Address, type Chain, defineChain } from 'viem';
import { arbitrum, arbitrumSepolia, mainnet, sepolia } from 'viem/chains';
import { FarplayError } from '../../protocol/errors.js';

/** The chains Farplay knows by name; `local` is an anvil node (chain id from config). */
export const ChainName = {
  local: 'local',
  mainnet: 'mainnet',
  arbitrum: 'arbitrum',
  sepolia: 'sepolia',
  arbitrumSepolia: 'arbitrumSepolia',
} as const;
export type ChainName = (typeof ChainName)[keyof typeof ChainName];

/**
 * Real ATH token addresses, used when config gives none. Source: public repository code, not a block
 * explorer (this machine has no web access): L2BEAT's Axelar ITS bridge plugin lists ATH (ITS token id
 * 0x88f7d4d3…f330b) at these two addresses, and several DeFi adapters agree. Verify on Etherscan /
 * Arbiscan before any mainnet deployment. Testnets have no known ATH: deploy TestATH or configure one.
 */
export const KNOWN_ATH_TOKENS: Partial<Record<number, Address>> = {
  [mainnet.id]: '0xbe0Ed4138121EcFC5c0E56B40517da27E6c5226B',
  [arbitrum.id]: '0xc87B37a581ec3257B734886d9d3a581F5A9d056c',
};

/** One chain as configured: which network, where its RPC is, and optionally the ATH token to use. */
export interface ChainConfig {
  name: ChainName;
  /** Required for `local`; must match the node for the others. */
  chainId?: number | undefined;
  rpcUrl: string;
  /** ATH ERC-20 on this chain; default KNOWN_ATH_TOKENS (mainnet, Arbitrum One), TestATH on local chains. */
  athToken?: Address | undefined;
}

/** A viem Chain for an anvil node with `chainId` at `rpcUrl`. */
export function localChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: `Farplay local ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
    testnet: true,
  });
}

/** The viem Chain for a configured chain, with the RPC URL from config. */
export function chainFor(config: ChainConfig): Chain {
  const known = { mainnet, arbitrum, sepolia, arbitrumSepolia } as const;
  if (config.name === 'local') {
    if (config.chainId === undefined)
      throw new FarplayError('CHAIN_BAD_CONFIG', 'a local chain needs chainId');
    return localChain(config.chainId, config.rpcUrl);
  }
  const base = known[config.name];
  if (base === undefined)
    throw new FarplayError('CHAIN_BAD_CONFIG', `unknown chain name ${String(config.name)}`);
  if (config.chainId !== undefined && config.chainId !== base.id) {
    throw new FarplayError(
      'CHAIN_BAD_CONFIG',
      `chain ${config.name} has id ${base.id}, config says ${config.chainId}`,
    );
  }
  return { ...base, rpcUrls: { default: { http: [config.rpcUrl] } } };
}

/** The ATH token address for a chain from config or the known list; undefined on local/testnets. */
export function athTokenFor(config: ChainConfig): Address | undefined {
  return config.athToken ?? KNOWN_ATH_TOKENS[chainFor(config).id];
}
