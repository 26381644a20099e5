import { type Address, createTestClient, http, keccak256, type LocalAccount, parseEther, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { type CheckerSet, sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployStakingChain } from '../../contracts-client/src/deploy.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import {
  type Evidence,
  registerEdge,
  type StakingRef,
  signQosReport,
  signSlashOrder,
  slash,
} from '../../contracts-client/src/staking.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { type QosReport, QosRole, type SlashOrder } from '../../protocol/eip712.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';
import {
  newEdgeAccount,
  playerKey,
  pongGame,
  signedRegistration,
  TEST_BUILT_IN_GAMES,
} from './matchmaker-support.js';

// Issue 8, "only accountable edges get players": on a real anvil StakingRegistry, an unstaked key cannot
// register, a staked one can, and one slashed below the minimum stake leaves allocation.
const rpcUrl = inject('stakingRpcUrl');
const chainId = inject('stakingChainId');
const chain = localChain(chainId, rpcUrl);
const accounts = localAccounts();
const admin = createChainClients(chain, accounts.deployer);
const testClient = createTestClient({ mode: 'anvil', chain, transport: http(rpcUrl) });
const checkers = [...accounts.checkers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
const ATH = 10n ** 18n;

let staking: StakingRef;
let set: CheckerSet;
let app: MatchmakerApp;

/** Registers `edge` on chain with `stake` from a fresh funded operator. */
async function stakeEdge(edge: LocalAccount, stake: bigint): Promise<void> {
  const operator = privateKeyToAccount(generatePrivateKey());
  await testClient.setBalance({ address: operator.address, value: parseEther('1') });
  await sendTx(admin, {
    address: staking.token,
    abi: testATHAbi,
    functionName: 'mint',
    args: [operator.address, stake],
  });
  await registerEdge(createChainClients(chain, operator), staking, { edge, cutBps: 0, amount: stake });
}

/** Slashes `bps` of `edge`'s pool with two conflicting signed reports and a checker quorum. */
async function slashEdge(edge: LocalAccount, bps: number): Promise<void> {
  const sessionId = keccak256(toHex(`stake-test-${edge.address}`));
  const evidence = await Promise.all(
    [3600, 1800].map(async (frames) => {
      const report: QosReport = {
        sessionId,
        minute: 1,
        role: QosRole.edge,
        metrics: {
          frames,
          bitrateKbps: 8000,
          encodeTimeUs: 4000,
          rttMs: 20,
          jitterMs: 0,
          lossPpm: 0,
          freezeMs: 0,
        },
      };
      return { report, signature: await signQosReport(edge, staking, report) } satisfies Evidence;
    }),
  );
  const order: SlashOrder = {
    edge: edge.address,
    sessionId,
    minute: 1,
    bps,
    player: privateKeyToAccount(generatePrivateKey()).address,
    finder: privateKeyToAccount(generatePrivateKey()).address,
    deadline: (await admin.publicClient.getBlock()).timestamp + 3600n,
  };
  const signatures = await Promise.all(
    checkers
      .slice(0, 3)
      .map(async (c) => ({ signer: c.address, signature: await signSlashOrder(c, staking, order) })),
  );
  await slash(admin, staking, {
    order,
    evidence: evidence as unknown as readonly [Evidence, Evidence],
    signatures,
    checkerSet: set,
  });
}

async function register(account: LocalAccount, capacity = 4) {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/edges/register',
    payload: await signedRegistration(account, { capacity, games: [pongGame] }),
  });
  return { status: response.statusCode, body: response.json() as { code?: string; edgeId?: string } };
}

async function liveEdgeIds(): Promise<string[]> {
  await app.matchmaker.refresh();
  const r = await app.inject({ method: 'GET', url: '/v1/edges' });
  return (r.json() as { edges: { edgeId: string }[] }).edges.map((e) => e.edgeId);
}

beforeAll(async () => {
  set = { checkers: sortAddresses(checkers.map((c) => c.address)), quorum: 3, policyHash: qosPolicyHash() };
  const d = await deployStakingChain(admin, {
    checkerSet: set,
    minStake: 1000n * ATH,
    unbondingDelay: 86_400n,
    timelockDelay: 600n,
  });
  staking = { address: d.staking as Address, chainId, token: d.token };
  app = await buildApp({
    config: {
      logLevel: 'silent',
      builtInGameIds: TEST_BUILT_IN_GAMES,
      stakingRpcUrl: rpcUrl,
      stakingChainId: chainId,
      stakingAddress: staking.address,
      stakeCheckMs: 200,
      maxEdgeCapacity: 16,
      // No heartbeats in this file: edges stay live for the whole test.
      edgeTtlMs: 120_000,
      refreshMs: 3_600_000,
      reapMs: 3_600_000,
    },
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
});

describe('only accountable edges get players (staking chain configured)', () => {
  it('refuses an unstaked key with MM_EDGE_NOT_STAKED and never lists it', async () => {
    const stranger = newEdgeAccount();
    const r = await register(stranger);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('MM_EDGE_NOT_STAKED');
    expect(await liveEdgeIds()).not.toContain(stranger.address.toLowerCase());
  });

  it('refuses a declared capacity above the configured maximum with MM_CAPACITY_TOO_HIGH', async () => {
    const edge = newEdgeAccount();
    await stakeEdge(edge, 1000n * ATH);
    const r = await register(edge, 10_000);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('MM_CAPACITY_TOO_HIGH');
  });

  it('accepts a staked edge, and one slashed below the minimum stake leaves allocation', async () => {
    const honest = newEdgeAccount();
    const cheat = newEdgeAccount();
    await stakeEdge(honest, 1000n * ATH);
    await stakeEdge(cheat, 1000n * ATH);
    expect((await register(honest, 8)).status).toBe(200);
    expect((await register(cheat, 8)).status).toBe(200);
    expect(await liveEdgeIds()).toEqual(
      expect.arrayContaining([honest.address.toLowerCase(), cheat.address.toLowerCase()]),
    );

    await slashEdge(cheat, 5000); // 500 ATH left of a 1,000 ATH minimum
    await vi.waitFor(async () => expect(await liveEdgeIds()).not.toContain(cheat.address.toLowerCase()), {
      timeout: 20_000,
      interval: 100,
    });
    expect(await liveEdgeIds()).toContain(honest.address.toLowerCase());
    // Every new session goes to the edge that is still accountable.
    for (let i = 0; i < 5; i++) {
      const s = await app.inject({
        method: 'POST',
        url: '/v1/sessions',
        remoteAddress: `10.9.0.${i + 1}`,
        payload: {
          gameId: 'pong',
          measurements: [{ edgeId: cheat.address, rttMs: 1 }],
          sessionKey: playerKey(),
        },
      });
      expect(s.statusCode).toBe(200);
      expect((s.json() as { edge: { edgeId: string } }).edge.edgeId).toBe(honest.address.toLowerCase());
    }
    // Registering again does not bring it back.
    const again = await register(cheat, 8);
    expect(again.body.code).toBe('MM_EDGE_NOT_STAKED');
  });
});
