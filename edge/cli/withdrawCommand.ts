import { parseArgs } from 'node:util';
import { erc20Abi, formatEther } from 'viem';
import { stakingRegistryAbi } from '../../contracts-client/src/abis/StakingRegistry.js';
import { delegationOf, withdrawUnbonded } from '../../contracts-client/src/staking.js';
import { FarplayError } from '../../protocol/errors.js';
import { describeDuration } from '../operator/describeDuration.js';
import type { CliContext } from './CliContext.js';
import { connectOwner } from './connectOwner.js';

/**
 * `farplay-edge withdraw`: pays the owner's unbonded stake back once the registry's unbonding delay has passed.
 * Before that it sends nothing and says, in plain words, how long is left and when (chain time) it unlocks.
 */
export async function withdrawCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: context.args,
    options: { config: { type: 'string' }, 'owner-keystore': { type: 'string' } },
    strict: true,
  });
  const { output } = context;
  const { edge, owner, clients, state } = await connectOwner(
    values.config,
    values['owner-keystore'],
    context.env,
  );
  const delegation = await delegationOf(state.publicClient, state.staking, edge, owner.address);
  if (delegation.unbondingShares === 0n) {
    output.out(
      `✓ nothing to withdraw: no stake of ${owner.address} is unbonding on edge ${edge} (\`farplay-edge unstake\` starts the ${describeDuration(state.unbondingDelay)} wait)`,
    );
    return 0;
  }
  const block = await state.publicClient.getBlock();
  const readyAt = new Date(Number(delegation.readyAt) * 1000).toISOString().replace('.000Z', 'Z');
  if (block.timestamp < delegation.readyAt) {
    throw new FarplayError(
      'CHAIN_STILL_UNBONDING',
      `${formatEther(state.unbonding)} ATH is still unbonding: it unlocks in ${describeDuration(delegation.readyAt - block.timestamp)}, at ${readyAt} (chain time); nothing was sent — run withdraw again then`,
      { details: { readyAt: Number(delegation.readyAt) } },
    );
  }
  const token = {
    address: state.staking.token,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [owner.address],
  } as const;
  const before = await state.publicClient.readContract(token);
  output.out(
    `… withdrawing the unbonded stake of ${owner.address} from edge ${edge} (unlocked ${readyAt}); sent`,
  );
  const receipt = await withdrawUnbonded(clients, state.staking, edge);
  output.out(`✓ mined in block ${receipt.blockNumber}: tx ${receipt.transactionHash}`);
  const received = (await state.publicClient.readContract(token)) - before;
  output.out(`✓ ${formatEther(received)} ATH paid back to ${owner.address}`);
  const active = await state.publicClient.readContract({
    address: state.staking.address,
    abi: stakingRegistryAbi,
    functionName: 'isActive',
    args: [edge],
  });
  output.out(
    active
      ? `  edge ${edge} stays active with ${formatEther(state.ownStake)} ATH staked`
      : `  edge ${edge} has no active stake: \`farplay-edge stake\` registers it again`,
  );
  return 0;
}
