import { parseArgs } from 'node:util';
import { formatEther, parseEther } from 'viem';
import { stakingRegistryAbi } from '../../contracts-client/src/abis/StakingRegistry.js';
import { delegationOf, unbond } from '../../contracts-client/src/staking.js';
import { FarplayError } from '../../protocol/errors.js';
import { describeDuration } from '../operator/describeDuration.js';
import type { CliContext } from './CliContext.js';
import { connectOwner } from './connectOwner.js';

/**
 * `farplay-edge unstake`: starts unbonding the owner's stake (`--all`, or `--amount ATH` that leaves at least the
 * minimum). Says in plain words what the contract imposes: unbonding stake stops earning at once, stays
 * slashable, and can be withdrawn only after the registry's unbonding delay; a new unstake restarts that delay.
 */
export async function unstakeCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: context.args,
    options: {
      config: { type: 'string' },
      'owner-keystore': { type: 'string' },
      amount: { type: 'string' },
      all: { type: 'boolean' },
    },
    strict: true,
  });
  const { output } = context;
  if (!values.all === !values.amount) {
    output.err('usage: farplay-edge unstake --owner-keystore FILE (--all | --amount ATH) [--config FILE]');
    return 2;
  }
  const { edge, owner, clients, state } = await connectOwner(
    values.config,
    values['owner-keystore'],
    context.env,
  );
  const delay = describeDuration(state.unbondingDelay);
  if (!state.owner) {
    throw new FarplayError(
      'OPERATOR_NOT_REGISTERED',
      `edge ${edge} is not registered: there is no stake to unstake`,
    );
  }
  if (state.owner.toLowerCase() !== owner.address.toLowerCase()) {
    throw new FarplayError(
      'OPERATOR_OWNED_ELSEWHERE',
      `edge ${edge} is registered by ${state.owner}, not by the owner key ${owner.address}`,
    );
  }
  const delegation = await delegationOf(state.publicClient, state.staking, edge, owner.address);
  if (delegation.shares === 0n) {
    output.out(`✓ nothing staked by ${owner.address} on edge ${edge}: nothing to send`);
    return 0;
  }
  const pool = await state.publicClient.readContract({
    address: state.staking.address,
    abi: stakingRegistryAbi,
    functionName: 'pools',
    args: [edge],
  });
  const [, , totalStake, totalShares] = pool;
  const toTokens = (shares: bigint) => (totalShares === 0n ? 0n : (shares * totalStake) / totalShares);
  let shares = delegation.shares;
  if (values.amount) {
    const amount = parseEther(values.amount);
    shares = totalStake === 0n ? 0n : (amount * totalShares) / totalStake;
    if (shares === 0n || shares > delegation.shares) {
      throw new FarplayError(
        'CHAIN_STAKE_TOO_LOW',
        `${values.amount} ATH is not between 0 and the ${formatEther(state.ownStake)} ATH staked`,
      );
    }
    const left = toTokens(delegation.shares - shares);
    if (shares < delegation.shares && left < state.minStake) {
      throw new FarplayError(
        'OPERATOR_BELOW_MIN_STAKE',
        `unstaking ${values.amount} ATH would leave ${formatEther(left)} ATH, below the minimum ${formatEther(state.minStake)} ATH an active edge needs: unstake less, or --all to retire the edge`,
      );
    }
  }
  const amount = toTokens(shares);
  output.out(`unbonding delay on staking chain ${state.staking.chainId}: ${delay}`);
  if (delegation.unbondingShares > 0n) {
    output.out(
      `  ${formatEther(toTokens(delegation.unbondingShares))} ATH is already unbonding; this unstake restarts its ${delay} wait too`,
    );
  }
  output.out(`… unbonding ${formatEther(amount)} ATH of ${owner.address} from edge ${edge}; sent`);
  const receipt = await unbond(clients, state.staking, edge, shares);
  output.out(`✓ mined in block ${receipt.blockNumber}: tx ${receipt.transactionHash}`);
  const after = await delegationOf(state.publicClient, state.staking, edge, owner.address);
  const readyAt = new Date(Number(after.readyAt) * 1000).toISOString().replace('.000Z', 'Z');
  output.out(
    `✓ ${formatEther(toTokens(after.unbondingShares))} ATH is unbonding: it stops earning rewards now but can still be slashed until you withdraw it.`,
  );
  output.out(
    `  The contract holds it for ${delay}: \`farplay-edge withdraw\` pays it back to ${owner.address} from ${readyAt} (chain time).`,
  );
  if (after.shares === 0n) {
    output.out(
      `  Edge ${edge} has no stake left: it is no longer active and earns nothing; stop it (systemctl stop farplay-edge).`,
    );
  } else {
    output.out(`  ${formatEther(toTokens(after.shares))} ATH stays staked and keeps the edge active.`);
  }
  return 0;
}
