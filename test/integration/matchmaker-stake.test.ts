import type { LocalAccount } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CheckerSet } from '../../contracts-client/src/checkers.js';
import { registerEdge, type StakingRef, slash } from '../../contracts-client/src/staking.js';
import { buildApp, type MatchmakerApp } from '../../matchmaker/buildApp.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import {
  newEdgeAccount,
  playerKey,
  pongGame,
  signedRegistration,
  TEST_BUILT_IN_GAMES,
} from './matchmaker-support.js';
import {
  ATH,
  admin,
  chainId,
  conflictingReportsSlash,
  deployStakingFixture,
  fundedAccount,
  rpcUrl,
} from './staking-support.js';

// Issue 8, "only accountable edges get players": on a real anvil StakingRegistry, an unstaked key cannot
// register, a staked one can, and one slashed below the minimum stake leaves allocation.
let staking: StakingRef;
let set: CheckerSet;
let app: MatchmakerApp;

/** Registers `edge` on chain with `stake` from a fresh funded operator. */
async function stakeEdge(edge: LocalAccount, stake: bigint): Promise<void> {
  const operator = await fundedAccount(staking, stake);
  await registerEdge(operator.clients, staking, { edge, cutBps: 0, amount: stake });
}

/** Slashes `bps` of `edge`'s pool with two conflicting signed reports and a checker quorum. */
async function slashEdge(edge: LocalAccount, bps: number): Promise<void> {
  await slash(admin, staking, await conflictingReportsSlash(staking, set, edge, { minute: 1, bps }));
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
  ({ staking, set } = await deployStakingFixture({ unbondingDelay: 86_400n }));
  app = await buildApp({
    config: {
      logLevel: 'silent',
      builtInGameIds: TEST_BUILT_IN_GAMES,
      sessionPrivateKey: TEST_SESSION_KEYS.privateKey,
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
