import { join } from 'node:path';
import { erc20Abi } from 'viem';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localChain } from '../../contracts-client/src/chains.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import type { Deployment } from '../../contracts-client/src/deployment.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import { type RunningMatchmaker, startMatchmaker } from '../../matchmaker/startMatchmaker.js';
import { signCapabilitySnapshot } from '../../protocol/capabilitySnapshot.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { newEdgeAccount, signedRegistration } from './matchmaker-support.js';
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
const PASSPHRASE = 'operator stake passphrase';
const env = { FARPLAY_EDGE_KEYSTORE_PASSPHRASE: PASSPHRASE };

let matchmaker: RunningMatchmaker;
let operatorChain: OperatorChain;
let deployment: Deployment;
const initEdge = () => initOperatorEdge(operatorChain, env, matchmaker.url);

beforeAll(async () => {
  operatorChain = await deployOperatorChain(rpcUrl, chainId);
  deployment = operatorChain.deployment;
  matchmaker = await startMatchmaker({
    port: 0,
    logLevel: 'silent',
    sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
  });
});

afterAll(async () => {
  await matchmaker?.close();
});

describe('farplay-edge stake', () => {
  it('refuses before spending gas: no ATH, then below the minimum stake', async () => {
    const dir = await initEdge();
    const owner = ['--config', join(dir, 'edge.json'), '--owner-keystore', join(dir, 'owner-key.json')];
    const broke = await runCli(['stake', ...owner], env);
    expect(broke.code).toBe(1);
    expect(broke.errors[0]).toMatch(/holds 0 ATH; staking needs 1000 ATH.*\[OPERATOR_NOT_ENOUGH_ATH\]$/);
    const small = await runCli(['stake', ...owner, '--amount', '10'], env);
    expect(small.errors[0]).toMatch(
      /10 ATH is below the minimum stake of 1000 ATH \[OPERATOR_BELOW_MIN_STAKE\]$/,
    );
  });

  it('stakes with hash and block, and a second run sends nothing', async () => {
    const dir = await initEdge();
    const owner = ['--config', join(dir, 'edge.json'), '--owner-keystore', join(dir, 'owner-key.json')];
    const first = await runCli(['stake', ...owner, '--local-faucet'], env);
    expect(first.errors).toEqual([]);
    const text = first.lines.join('\n');
    expect(text).toMatch(/^… staking 1000 ATH from 0x[0-9a-fA-F]{40} for edge 0x[0-9a-fA-F]{40}/m);
    expect(text).toMatch(/^✓ mined in block \d+: tx 0x[0-9a-f]{64}$/m);
    expect(text).toMatch(/^✓ confirmed: edge 0x[0-9a-fA-F]{40} is active with 1000 ATH staked/m);
    expect(first.code).toBe(0);

    const ownerAddress = ownerAddressOf(dir, PASSPHRASE);
    const client = createChainClients(chain, localAccounts().deployer).publicClient;
    const balance = () =>
      client.readContract({
        address: deployment.token,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [ownerAddress],
      });
    const before = await balance();
    const again = await runCli(['stake', ...owner], env);
    expect(again.code).toBe(0);
    expect(again.lines.join('\n')).toMatch(
      /already registered by 0x[0-9a-fA-F]{40} with 1000 ATH: nothing to send/,
    );
    expect(await balance()).toBe(before);

    const status = await runCli(['status', '--config', join(dir, 'edge.json')], env);
    const statusText = status.lines.join('\n');
    expect(statusText).toMatch(/chain \d+: registered by 0x[0-9a-fA-F]{40}, stake 1000 ATH \(minimum 1000\)/);
    // Staked but not running: status says why it does not earn.
    expect(statusText).toContain('✗ not earning:');
    expect(statusText).toContain('no heartbeat accepted by the matchmaker');
    expect(statusText).toMatch(
      /this edge is not running at http:\/\/127\.0\.0\.1:\d+|the edge is not running at http:\/\/127\.0\.0\.1:\d+: start it/,
    );
    expect(statusText).toMatch(/sessions, earnings: the edge does not answer at http:\/\/127\.0\.0\.1:\d+/);
  });
});

describe('capability snapshot at registration', () => {
  it('the matchmaker refuses a capacity above what was measured, and a nonce it did not issue', async () => {
    const edge = newEdgeAccount();
    const { nonce } = (await (await fetch(`${matchmaker.url}/v1/operator/nonce`)).json()) as {
      nonce: string;
    };
    const capability = await signCapabilitySnapshot(edge, {
      edge: edge.address,
      sessions: 2,
      width: 1280,
      height: 720,
      fps: 30,
      encoder: 'libx264',
      minFpsMilli: 29_500,
      cpu: 'test cpu',
      cores: 2,
      gpu: 'none',
      measuredAt: Date.now(),
      nonce,
    });
    const register = async (capacity: number, snapshot = capability) =>
      fetch(`${matchmaker.url}/v1/edges/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...(await signedRegistration(edge, { capacity })), capability: snapshot }),
      });
    const above = await register(3);
    expect(above.status).toBe(400);
    expect(await above.json()).toMatchObject({
      code: 'OPERATOR_CAPACITY_ABOVE_MEASURED',
      details: { declared: 3, measured: 2 },
    });
    const forged = await signCapabilitySnapshot(edge, { ...capability.payload, nonce: 'A'.repeat(54) });
    const bad = await register(2, forged);
    expect(await bad.json()).toMatchObject({ code: 'OPERATOR_BAD_CAPABILITY' });
    expect((await register(2)).status).toBe(200);
  });
});
