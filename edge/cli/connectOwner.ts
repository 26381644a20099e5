import type { Address } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { privateKeyToAddress } from 'viem/accounts';
import { localChain } from '../../contracts-client/src/chains.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import type { ChainClients } from '../../contracts-client/src/tx.js';
import { FarplayError } from '../../protocol/errors.js';
import type { EdgeConfig } from '../config.js';
import { loadNodeKey } from '../operator/loadNodeKey.js';
import { loadOwnerAccount } from '../operator/loadOwnerAccount.js';
import { readStakingState, type StakingLocation, type StakingState } from '../operator/readStakingState.js';
import { loadCliConfig } from './loadCliConfig.js';

/** What a command that moves the owner's stake works with. */
export interface OwnerConnection {
  config: Readonly<EdgeConfig>;
  /** The edge (node key address). */
  edge: Address;
  owner: PrivateKeyAccount;
  clients: ChainClients;
  location: StakingLocation;
  /** The registry's view before anything is sent (already checked to be the configured chain). */
  state: StakingState;
}

/** Loads the config, the edge address and the owner key, and reads the staking chain (OPERATOR_WRONG_CHAIN first). */
export async function connectOwner(
  configFlag: string | undefined,
  ownerKeystore: string | undefined,
  env: Record<string, string | undefined>,
): Promise<OwnerConnection> {
  const config = loadCliConfig(configFlag, env);
  if (!config.stakingRpcUrl) {
    throw new FarplayError(
      'EDGE_BAD_CONFIG',
      'stakingRpcUrl is not set: the CLI does not know the staking chain',
    );
  }
  const nodeKey = loadNodeKey(config);
  if (!nodeKey)
    throw new FarplayError('OPERATOR_NOT_INITIALIZED', 'no node key: run `farplay-edge init` first');
  const edge = privateKeyToAddress(nodeKey);
  const owner = loadOwnerAccount(ownerKeystore, config);
  const location = {
    rpcUrl: config.stakingRpcUrl,
    chainId: config.stakingChainId,
    deploymentsDir: config.deploymentsDir,
  };
  const state = await readStakingState(location, edge, owner.address);
  const clients = createChainClients(localChain(config.stakingChainId, config.stakingRpcUrl), owner);
  return { config, edge, owner, clients, location, state };
}
