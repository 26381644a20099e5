import { type Address, keccak256, parseEther, recoverAddress, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localChain } from '../../contracts-client/src/chains.js';
import { readCheckerSet } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import {
  attestationOf,
  readAccount,
  readEdgeEarnings,
  settle,
  signAttestation,
  signGrant,
} from '../../contracts-client/src/escrow.js';
import { type LocalChains, startLocalChains } from '../../contracts-client/src/localChain.js';
import { isEdgeActive, signQosReport, stakeOf } from '../../contracts-client/src/staking.js';
import { QosRole, qosReportDigest, stakingDomain } from '../../protocol/eip712.js';

// What `npm start` gets: two anvil nodes with everything deployed, a funded demo player and a staked edge.
let local: LocalChains;
beforeAll(async () => {
  local = await startLocalChains();
});
afterAll(async () => {
  await local?.close();
});

describe('startLocalChains', () => {
  it('runs the staking and payments chains apart, deployed, with a funded player and a staked edge', async () => {
    expect(local.staking.chainId).not.toBe(local.payments.chainId);
    expect(local.staking.rpcUrl).not.toBe(local.payments.rpcUrl);
    const payments = createChainClients(
      localChain(local.payments.chainId, local.payments.rpcUrl),
      local.accounts.deployer,
    );
    const staking = createChainClients(
      localChain(local.staking.chainId, local.staking.rpcUrl),
      local.accounts.deployer,
    );
    const escrow = { address: local.payments.deployment.escrow as Address, chainId: local.payments.chainId };
    const stakingRef = {
      address: local.staking.deployment.staking as Address,
      chainId: local.staking.chainId,
      token: local.staking.deployment.token,
    };
    expect((await readAccount(payments.publicClient, escrow, local.accounts.player.address)).balance).toBe(
      parseEther('1000'),
    );
    expect(await isEdgeActive(staking.publicClient, stakingRef, local.accounts.edge.address)).toBe(true);
    expect(
      (
        await stakeOf(
          staking.publicClient,
          stakingRef,
          local.accounts.edge.address,
          local.accounts.operator.address,
        )
      ).active,
    ).toBe(parseEther('1000'));

    // A demo session settles on the payments chain with the demo checkers.
    const set = await readCheckerSet(payments.publicClient, local.payments.deployment.checkerRegistry);
    const block = await payments.publicClient.getBlock();
    const grant = {
      sessionId: keccak256(toHex('demo-session')),
      player: local.accounts.player.address,
      edge: local.accounts.edge.address,
      pricePerMinute: parseEther('0.02'),
      maxMinutes: 30,
      expiry: block.timestamp + 3600n,
      sessionKey: local.accounts.player.address,
    };
    const attestations = await Promise.all(
      local.accounts.checkers.slice(0, set.quorum).map(async (c) => ({
        signer: c.address,
        signature: await signAttestation(c, escrow, attestationOf(grant, 12, set.policyHash)),
      })),
    );
    await settle(payments, escrow, {
      grant,
      grantSignature: await signGrant(local.accounts.player, escrow, grant),
      minutes: 12,
      attestations,
      checkerSet: set,
    });
    const earned = await readEdgeEarnings(payments.publicClient, escrow, local.accounts.edge.address, [
      grant.sessionId,
    ]);
    expect(earned).toBe(12n * parseEther('0.02'));

    // The edge's QoS report, signed for the staking chain, recovers to the edge key off chain.
    const report = {
      sessionId: grant.sessionId,
      minute: 0,
      role: QosRole.edge,
      metrics: {
        frames: 3600,
        bitrateKbps: 8000,
        encodeTimeUs: 3000,
        rttMs: 12,
        jitterMs: 1,
        lossPpm: 0,
        freezeMs: 0,
      },
    };
    const signature = await signQosReport(local.accounts.edge, stakingRef, report);
    const digest = qosReportDigest(stakingDomain(stakingRef.chainId, stakingRef.address), report);
    expect(await recoverAddress({ hash: digest, signature })).toBe(local.accounts.edge.address);
  });
});
