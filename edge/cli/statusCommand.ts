import { parseArgs } from 'node:util';
import { type Address, formatEther } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { delegationOf, pendingRewards } from '../../contracts-client/src/staking.js';
import { findError } from '../../protocol/errors.js';
import type { EdgeEarnings, NoEarnings } from '../billing/readEarnings.js';
import type { EdgeStats } from '../Edge.js';
import { describeDuration } from '../operator/describeDuration.js';
import { describeEarnings, describeFailingQos } from '../operator/describeEarnings.js';
import { describeLiveSessions } from '../operator/describeLiveSessions.js';
import { loadNodeKey } from '../operator/loadNodeKey.js';
import { readCapability } from '../operator/readCapability.js';
import { readStakingState } from '../operator/readStakingState.js';
import type { CliContext } from './CliContext.js';
import { fetchMatchmakerJson } from './fetchMatchmakerJson.js';
import { loadCliConfig } from './loadCliConfig.js';

interface LiveEdge {
  edgeId: string;
  region: string;
  capacity: number;
  usedSlots: number;
  url: string;
}

/**
 * `farplay-edge status`: on-chain registration and stake, rewards, the matchmaker's view, the running edge's sessions
 * and money (minutes played, attested, paid, pending, escrow earnings), and why the edge is not earning.
 */
export async function statusCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({ args: context.args, options: { config: { type: 'string' } }, strict: true });
  const { output } = context;
  const config = loadCliConfig(values.config, context.env);
  const key = loadNodeKey(config);
  if (!key) {
    output.out('✗ no node key: run `farplay-edge init`');
    return 1;
  }
  const edge = privateKeyToAddress(key);
  const reasons: string[] = [];
  output.out(`edge ${edge}${config.ownerAddress ? ` (owner ${config.ownerAddress})` : ''}`);

  if (!config.stakingRpcUrl) {
    reasons.push('no staking chain configured (stakingRpcUrl)');
  } else {
    try {
      const state = await readStakingState(
        {
          rpcUrl: config.stakingRpcUrl,
          chainId: config.stakingChainId,
          deploymentsDir: config.deploymentsDir,
        },
        edge,
        config.ownerAddress as Address | undefined,
      );
      if (!state.owner) {
        output.out(`  chain ${config.stakingChainId}: not registered`);
        reasons.push('not registered on the staking chain: run `farplay-edge stake`');
      } else {
        const rewards = await pendingRewards(state.publicClient, state.staking, edge, state.owner);
        output.out(
          `  chain ${config.stakingChainId}: registered by ${state.owner}, stake ${formatEther(state.ownStake)} ATH (minimum ${formatEther(state.minStake)}), unbonding ${formatEther(state.unbonding)} ATH`,
        );
        output.out(`  rewards pending: ${formatEther(rewards)} ATH (claim with the owner key)`);
        if (state.unbonding > 0n) {
          const { readyAt } = await delegationOf(state.publicClient, state.staking, edge, state.owner);
          const now = (await state.publicClient.getBlock()).timestamp;
          output.out(
            readyAt > now
              ? `  unbonding: ${formatEther(state.unbonding)} ATH, withdrawable in ${describeDuration(readyAt - now)} (\`farplay-edge withdraw\`)`
              : `  unbonding: ${formatEther(state.unbonding)} ATH, withdrawable now (\`farplay-edge withdraw\`)`,
          );
        }
        if (!state.active)
          reasons.push(`stake too low: ${formatEther(state.ownStake)} < ${formatEther(state.minStake)} ATH`);
      }
    } catch (error) {
      const known = findError(error);
      reasons.push(`staking chain unreadable: ${known ? `${known.message} [${known.code}]` : String(error)}`);
    }
  }

  const { capability } = readCapability(config.capabilityFile);
  if (capability) {
    output.out(
      `  capability: ${capability.payload.sessions} sessions at ${capability.payload.width}x${capability.payload.height}@${capability.payload.fps} on ${capability.payload.encoder}, measured ${new Date(capability.payload.measuredAt).toISOString()}`,
    );
  } else {
    output.out('  capability: none yet (run `farplay-edge bench`)');
  }

  try {
    const { edges } = await fetchMatchmakerJson<{ edges: LiveEdge[] }>(config.matchmakerUrl, '/v1/edges');
    const live = edges.find((e) => e.edgeId.toLowerCase() === edge.toLowerCase());
    if (live) {
      output.out(
        `  matchmaker: live in ${live.region} at ${live.url}, ${live.usedSlots}/${live.capacity} sessions`,
      );
    } else {
      output.out('  matchmaker: not live (no registration or heartbeat accepted recently)');
      reasons.push('no heartbeat accepted by the matchmaker: is `farplay-edge run` running? see its log');
    }
  } catch (error) {
    const known = findError(error);
    reasons.push(`matchmaker unreachable: ${known?.message ?? String(error)}`);
  }

  const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host;
  const edgeUrl = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
  try {
    const get = async <T>(path: string): Promise<T> => {
      const response = await fetch(`${edgeUrl}${path}`, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return (await response.json()) as T;
    };
    const { id } = await get<{ id: string }>('/v1/edge');
    if (id.toLowerCase() !== edge.toLowerCase()) {
      output.out(`  sessions: another edge (${id}) answers at ${edgeUrl}`);
      reasons.push(`this edge is not running at ${edgeUrl} (edge ${id} is): check port in the config`);
    } else {
      const live = describeLiveSessions(await get<EdgeStats>('/v1/stats'));
      output.out(
        `  sessions: ${live.live} open (${live.streaming} streaming), ${live.ended} ended since the edge started; ${live.minutesPlayed.toFixed(1)} minutes played by the open ones`,
      );
      // The edge's own view of its encoder: a hint only; whether a minute is paid is the checkers' verdict.
      for (const failing of live.failing) output.out(`  warning: ${failing}`);
      // Settlement: minutes count once a checker quorum attests them, and are paid when the edge settles them.
      const earnings = await get<EdgeEarnings | NoEarnings>('/v1/earnings');
      if (!earnings.billing) {
        output.out('  earnings: billing is off on this edge');
        reasons.push(
          'billing is off: set paymentsRpcUrl and the deployment files so the edge reports and settles',
        );
      } else {
        for (const line of describeEarnings(earnings)) output.out(line);
        for (const failing of describeFailingQos(earnings)) reasons.push(`failing QoS: ${failing}`);
      }
    }
  } catch {
    output.out(`  sessions, earnings: the edge does not answer at ${edgeUrl}`);
    reasons.push(`the edge is not running at ${edgeUrl}: start it (\`farplay-edge run\` or its service)`);
  }

  if (reasons.length === 0) {
    output.out('✓ earning: registered, staked and live');
    return 0;
  }
  output.out('✗ not earning:');
  for (const reason of reasons) output.out(`    - ${reason}`);
  return 1;
}
