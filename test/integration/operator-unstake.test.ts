import { join } from 'node:path';
import { createTestClient, erc20Abi, http } from 'viem';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { localChain } from '../../contracts-client/src/chains.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import type { Deployment } from '../../contracts-client/src/deployment.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import {
  deployOperatorChain,
  initOperatorEdge,
  type OperatorChain,
  ownerAddressOf,
  runCli,
} from './operator-support.js';

const rpcUrl = inject('stakingRpcUrl');
const chainId = inject('stakingChainId');
const chain = localChain(chainId, rpcUrl);
const PASSPHRASE = 'operator unstake passphrase';
const env = { FARPLAY_EDGE_KEYSTORE_PASSPHRASE: PASSPHRASE };
/** 2 days 6 hours: the registry's unbonding delay in this test. */
const UNBONDING_S = 2 * 86_400 + 6 * 3_600;

let operatorChain: OperatorChain;
let deployment: Deployment;

beforeAll(async () => {
  operatorChain = await deployOperatorChain(rpcUrl, chainId, { unbondingDelay: BigInt(UNBONDING_S) });
  deployment = operatorChain.deployment;
});

describe('farplay-edge unstake and withdraw', () => {
  it('unstakes with the delay in plain words, refuses to withdraw early, then pays the stake back', async () => {
    const dir = await initOperatorEdge(operatorChain, env);
    const owner = ['--config', join(dir, 'edge.json'), '--owner-keystore', join(dir, 'owner-key.json')];
    const ownerAddress = ownerAddressOf(dir, PASSPHRASE);
    const publicClient = createChainClients(chain, localAccounts().deployer).publicClient;
    const balance = () =>
      publicClient.readContract({
        address: deployment.token,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [ownerAddress],
      });

    // Nothing staked yet: unstake has nothing to unbond and says why.
    const early = await runCli(['unstake', ...owner, '--all'], env);
    expect(early.errors[0]).toMatch(
      /is not registered: there is no stake to unstake \[OPERATOR_NOT_REGISTERED\]$/,
    );

    expect((await runCli(['stake', ...owner, '--local-faucet'], env)).code).toBe(0);
    expect(await balance()).toBe(0n);

    // A partial unstake that would leave the edge below the minimum is refused before any gas.
    const partial = await runCli(['unstake', ...owner, '--amount', '10'], env);
    expect(partial.code).toBe(1);
    expect(partial.errors[0]).toMatch(
      /would leave 990 ATH, below the minimum 1000 ATH .*--all to retire the edge \[OPERATOR_BELOW_MIN_STAKE\]$/,
    );

    const unstake = await runCli(['unstake', ...owner, '--all'], env);
    expect(unstake.errors).toEqual([]);
    expect(unstake.code).toBe(0);
    const text = unstake.lines.join('\n');
    expect(text).toContain(`unbonding delay on staking chain ${chainId}: 2 days 6 hours`);
    expect(text).toMatch(/^✓ mined in block \d+: tx 0x[0-9a-f]{64}$/m);
    expect(text).toContain('1000 ATH is unbonding: it stops earning rewards now but can still be slashed');
    expect(text).toMatch(
      /holds it for 2 days 6 hours: `farplay-edge withdraw` pays it back to 0x[0-9a-fA-F]{40} from \d{4}-\d\d-\d\dT/,
    );
    expect(text).toContain('no stake left: it is no longer active');

    // Too early: nothing is sent, and the operator is told how long is left.
    const tooEarly = await runCli(['withdraw', ...owner], env);
    expect(tooEarly.code).toBe(1);
    expect(tooEarly.errors[0]).toMatch(
      /1000 ATH is still unbonding: it unlocks in (2 days 6 hours|2 days 5 hours), at .*nothing was sent.*\[CHAIN_STILL_UNBONDING\]$/,
    );
    expect(await balance()).toBe(0n);

    const testClient = createTestClient({ chain, mode: 'anvil', transport: http(rpcUrl) });
    await testClient.increaseTime({ seconds: UNBONDING_S + 1 });
    await testClient.mine({ blocks: 1 });

    const withdraw = await runCli(['withdraw', ...owner], env);
    expect(withdraw.errors).toEqual([]);
    expect(withdraw.lines.join('\n')).toContain(`✓ 1000 ATH paid back to ${ownerAddress}`);
    expect(await balance()).toBe(1000n * 10n ** 18n);

    // Rerunning is safe: nothing is unbonding any more.
    const again = await runCli(['withdraw', ...owner], env);
    expect(again.code).toBe(0);
    expect(again.lines.join('\n')).toContain('nothing to withdraw');
  });
});
