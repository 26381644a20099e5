import { parseArgs } from 'node:util';
import { type Address, formatEther, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { readDeployment } from '../../contracts-client/src/deployment.js';
import { delegate, registerEdge } from '../../contracts-client/src/staking.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import { FarplayError } from '../../protocol/errors.js';
import { loadNodeKey } from '../operator/loadNodeKey.js';
import { loadOwnerAccount } from '../operator/loadOwnerAccount.js';
import { readStakingState } from '../operator/readStakingState.js';
import type { CliContext } from './CliContext.js';
import { loadCliConfig } from './loadCliConfig.js';

/**
 * `farplay-edge stake` (and `register`): registers this edge on the staking chain with the owner key's stake,
 * or tops the stake up to `--amount`. Idempotent: what is already on chain is read first and nothing is sent
 * twice. Refuses before spending gas when the chain is the wrong one, the amount is below the minimum or the
 * owner holds too little ATH.
 */
export async function stakeCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: context.args,
    options: {
      config: { type: 'string' },
      'owner-keystore': { type: 'string' },
      amount: { type: 'string' },
      'cut-bps': { type: 'string' },
      'local-faucet': { type: 'boolean' },
    },
    strict: true,
  });
  const { output } = context;
  const config = loadCliConfig(values.config, context.env);
  if (!config.stakingRpcUrl) {
    throw new FarplayError(
      'EDGE_BAD_CONFIG',
      'stakingRpcUrl is not set: the CLI does not know the staking chain',
    );
  }
  const nodeKey = loadNodeKey(config);
  if (!nodeKey)
    throw new FarplayError('OPERATOR_NOT_INITIALIZED', 'no node key: run `farplay-edge init` first');
  const node = privateKeyToAccount(nodeKey);
  const owner = loadOwnerAccount(values['owner-keystore'], config);
  const location = {
    rpcUrl: config.stakingRpcUrl,
    chainId: config.stakingChainId,
    deploymentsDir: config.deploymentsDir,
  };
  const chain = localChain(config.stakingChainId, config.stakingRpcUrl);
  const clients = createChainClients(chain, owner);

  if (values['local-faucet']) {
    // Local chains only: TestATH has an open mint and anvil sets balances.
    const deployment = readDeployment(config.stakingChainId, 'staking', config.deploymentsDir);
    if (!deployment.testToken)
      throw new FarplayError(
        'OPERATOR_WRONG_CHAIN',
        '--local-faucet works only on a local chain with TestATH',
      );
    await clients.publicClient.request({
      method: 'anvil_setBalance' as never,
      params: [owner.address, '0x56BC75E2D63100000'] as never,
    });
    const want = values.amount ? parseEther(values.amount) : parseEther('1000');
    const receipt = await sendTx(clients, {
      address: deployment.token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [owner.address, want],
    });
    output.out(
      `✓ faucet: ${formatEther(want)} test ATH and 100 ETH for gas to ${owner.address} (tx ${receipt.transactionHash})`,
    );
  }

  const state = await readStakingState(location, node.address, owner.address);
  const target = values.amount ? parseEther(values.amount) : state.minStake;
  output.out(
    `staking chain ${config.stakingChainId}: registry ${state.staking.address}, minimum stake ${formatEther(state.minStake)} ATH`,
  );

  if (state.owner && state.owner.toLowerCase() !== owner.address.toLowerCase()) {
    throw new FarplayError(
      'OPERATOR_OWNED_ELSEWHERE',
      `edge ${node.address} is registered by ${state.owner}, not by the owner key ${owner.address}`,
    );
  }
  if (state.owner && state.ownStake >= target) {
    output.out(
      `✓ edge ${node.address} is already registered by ${owner.address} with ${formatEther(state.ownStake)} ATH: nothing to send`,
    );
    return 0;
  }
  const needed = state.owner ? target - state.ownStake : target;
  if (!state.owner && target < state.minStake) {
    throw new FarplayError(
      'OPERATOR_BELOW_MIN_STAKE',
      `${formatEther(target)} ATH is below the minimum stake of ${formatEther(state.minStake)} ATH`,
    );
  }
  const balance = state.ownerBalance ?? 0n;
  if (balance < needed) {
    throw new FarplayError(
      'OPERATOR_NOT_ENOUGH_ATH',
      `the owner ${owner.address} holds ${formatEther(balance)} ATH; staking needs ${formatEther(needed)} ATH — send ATH to it first`,
    );
  }
  const gas = await clients.publicClient.getBalance({ address: owner.address });
  if (gas === 0n) {
    throw new FarplayError(
      'OPERATOR_NOT_ENOUGH_ATH',
      `the owner ${owner.address} has no ETH to pay gas on chain ${config.stakingChainId}`,
    );
  }

  output.out(
    `… ${state.owner ? 'adding' : 'staking'} ${formatEther(needed)} ATH from ${owner.address} for edge ${node.address} (approve, then ${state.owner ? 'delegate' : 'registerEdge'}); sent`,
  );
  const receipt = state.owner
    ? await delegate(clients, state.staking, node.address, needed)
    : await registerEdge(clients, state.staking, {
        edge: node,
        cutBps: values['cut-bps'] ? Number(values['cut-bps']) : 1000,
        amount: needed,
      });
  output.out(`✓ mined in block ${receipt.blockNumber}: tx ${receipt.transactionHash}`);
  const after = await readStakingState(location, node.address, owner.address as Address);
  output.out(
    after.active
      ? `✓ confirmed: edge ${node.address} is active with ${formatEther(after.ownStake)} ATH staked by ${owner.address}`
      : `✗ edge ${node.address} has ${formatEther(after.ownStake)} ATH staked, below the minimum ${formatEther(after.minStake)} ATH`,
  );
  output.out('Keep the owner keystore offline from now on: the edge never needs it.');
  return after.active ? 0 : 1;
}
