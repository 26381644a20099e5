import { type Address, domainSeparator, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionEscrowAbi } from '../../contracts-client/src/abis/SessionEscrow.js';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import type { CheckerSet } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import {
  attestationOf,
  batchOf,
  batchSettle,
  deposit,
  type EscrowRef,
  paidMinutes,
  readAccount,
  readEdgeEarnings,
  requestWithdraw,
  settle,
  signAttestationBatch,
  signGrant,
  sortSignatures,
  verifyAttestation,
  verifyGrant,
  withdraw,
  withdrawEarnings,
} from '../../contracts-client/src/escrow.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import { escrowDomain, type Grant } from '../../protocol/eip712.js';
import {
  accounts,
  admin,
  at,
  attest,
  balanceOf,
  chain,
  chainId,
  chainNow,
  checkers,
  deployEscrowFixture,
  edgeClients,
  expectCode,
  FEE_BPS,
  newGrant,
  PRICE,
  playerClients,
  policyHash,
  testClient,
  WITHDRAW_DELAY,
} from './escrow-support.js';

let escrow: EscrowRef;
let token: Address;
let set: CheckerSet;

beforeAll(async () => {
  ({ escrow, token, set } = await deployEscrowFixture());
});

describe('SessionEscrow on the payments chain', () => {
  it('computes the same EIP-712 domain and digests as the client', async () => {
    const onChain = await admin.publicClient.readContract({
      address: escrow.address,
      abi: sessionEscrowAbi,
      functionName: 'domainSeparator',
    });
    expect(onChain).toBe(domainSeparator({ domain: escrowDomain(chainId, escrow.address) }));
    const grant = await newGrant();
    const signature = await signGrant(accounts.player, escrow, grant);
    expect(await verifyGrant(escrow, grant, signature)).toBe(true);
    expect(await verifyGrant(escrow, { ...grant, maxMinutes: 61 }, signature)).toBe(false);
    expect(await verifyGrant({ ...escrow, chainId: chainId + 1 }, grant, signature)).toBe(false);
    const a = at(await attest(escrow, grant, 5, checkers.slice(0, 1)), 0);
    expect(
      await verifyAttestation(
        escrow,
        attestationOf(grant, 5, policyHash),
        a.signature,
        at(checkers, 0).address,
      ),
    ).toBe(true);
    expect(
      await verifyAttestation(
        escrow,
        attestationOf(grant, 6, policyHash),
        a.signature,
        at(checkers, 0).address,
      ),
    ).toBe(false);
  });

  it('pays attested minutes not yet paid, exact to the wei: deposit → grant → attestations → settle', async () => {
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const before = await readAccount(admin.publicClient, escrow, accounts.player.address);
    const earned = () =>
      readEdgeEarnings(admin.publicClient, escrow, accounts.edge.address, [grant.sessionId]);
    const edgeBefore = await earned();

    await settle(admin, escrow, {
      grant,
      grantSignature,
      minutes: 45,
      attestations: await attest(escrow, grant, 45),
      checkerSet: set,
    });
    const amount45 = 45n * PRICE;
    expect((await readAccount(admin.publicClient, escrow, accounts.player.address)).balance).toBe(
      before.balance - amount45,
    );
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(45);
    expect((await earned()) - edgeBefore).toBe(amount45);

    // Later attestation for 60 cumulative minutes pays only the 15 new ones.
    await settle(admin, escrow, {
      grant,
      grantSignature,
      minutes: 60,
      attestations: await attest(escrow, grant, 60),
      checkerSet: set,
    });
    const amount = 60n * PRICE;
    expect((await readAccount(admin.publicClient, escrow, accounts.player.address)).balance).toBe(
      before.balance - amount,
    );
    const gross = await earned();
    expect(gross - edgeBefore).toBe(amount);

    // The edge withdraws: it gets its earnings minus the fee, the treasury the fee, to the wei.
    const fee = (gross * FEE_BPS) / 10_000n;
    const payout = privateKeyToAccount(generatePrivateKey()).address;
    const treasuryBefore = await balanceOf(token, accounts.treasury.address);
    await withdrawEarnings(edgeClients, escrow, payout, [grant.sessionId]);
    expect(await balanceOf(token, payout)).toBe(gross - fee);
    expect((await balanceOf(token, accounts.treasury.address)) - treasuryBefore).toBe(fee);
    expect(await earned()).toBe(0n);
    // The replay guard survives the withdrawal, and a second withdrawal has nothing to pay.
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(60);
    await expectCode(withdrawEarnings(edgeClients, escrow, payout, [grant.sessionId]), 'CHAIN_REVERTED');
  });

  it('refuses a replayed attestation and settling the same minutes twice', async () => {
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const attestations = await attest(escrow, grant, 10);
    await settle(admin, escrow, { grant, grantSignature, minutes: 10, attestations, checkerSet: set });
    const before = await readAccount(admin.publicClient, escrow, accounts.player.address);
    await expectCode(
      settle(admin, escrow, { grant, grantSignature, minutes: 10, attestations, checkerSet: set }),
      'CHAIN_NOTHING_TO_SETTLE',
    );
    // An older, lower attestation pays nothing either.
    await expectCode(
      settle(admin, escrow, {
        grant,
        grantSignature,
        minutes: 5,
        attestations: await attest(escrow, grant, 5),
        checkerSet: set,
      }),
      'CHAIN_NOTHING_TO_SETTLE',
    );
    // Another session's attestations do not carry over.
    const other = await newGrant();
    await expectCode(
      settle(admin, escrow, {
        grant: other,
        grantSignature: await signGrant(accounts.player, escrow, other),
        minutes: 10,
        attestations,
        checkerSet: set,
      }),
      'CHAIN_NOT_CHECKER',
    );
    expect((await readAccount(admin.publicClient, escrow, accounts.player.address)).balance).toBe(
      before.balance,
    );
  });

  it('refuses a second, 1-wei grant for the same session: attestations bind the grant, the real one still settles', async () => {
    // The grant the session runs under, and the checkers' attestations of its minutes.
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const attestations = await attest(escrow, grant, 30);
    // The player signs another grant for the same session id and edge at 1 wei a minute: validly signed.
    const cheap: Grant = { ...grant, pricePerMinute: 1n };
    const cheapSignature = await signGrant(accounts.player, escrow, cheap);
    expect(await verifyGrant(escrow, cheap, cheapSignature)).toBe(true);
    // Off chain already, a checker's attestation of the real grant is not one of the cheap grant.
    const first = at(sortSignatures(attestations), 0);
    expect(
      await verifyAttestation(escrow, attestationOf(grant, 30, policyHash), first.signature, first.signer),
    ).toBe(true);
    expect(
      await verifyAttestation(escrow, attestationOf(cheap, 30, policyHash), first.signature, first.signer),
    ).toBe(false);

    const before = await readAccount(admin.publicClient, escrow, accounts.player.address);
    const earned = () => readEdgeEarnings(admin.publicClient, escrow, grant.edge, [grant.sessionId]);
    const edgeBefore = await earned();
    // The player races the operator with the cheap grant and the checkers' valid attestations: refused, since
    // the signatures recover to non-checkers for the cheap grant's digest.
    const raced = await expectCode(
      settle(playerClients, escrow, {
        grant: cheap,
        grantSignature: cheapSignature,
        minutes: 30,
        attestations,
        checkerSet: set,
      }),
      'CHAIN_NOT_CHECKER',
    );
    expect(raced.details).toMatchObject({ revert: 'NotChecker' });
    // The batch form binds each session's grant the same way.
    const realBatch = batchOf([{ grant, grantSignature, minutes: 30 }], policyHash);
    const batchAttestations = await Promise.all(
      checkers.slice(0, 3).map(async (c) => ({
        signer: c.address,
        signature: await signAttestationBatch(c, escrow, realBatch),
      })),
    );
    await expectCode(
      batchSettle(playerClients, escrow, {
        sessions: [{ grant: cheap, grantSignature: cheapSignature, minutes: 30 }],
        attestations: batchAttestations,
        checkerSet: set,
      }),
      'CHAIN_NOT_CHECKER',
    );
    // Nothing was marked paid, nothing moved.
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(0);
    expect((await readAccount(admin.publicClient, escrow, accounts.player.address)).balance).toBe(
      before.balance,
    );

    // The operator settles the real grant at its real price.
    await settle(admin, escrow, { grant, grantSignature, minutes: 30, attestations, checkerSet: set });
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(30);
    expect((await readAccount(admin.publicClient, escrow, accounts.player.address)).balance).toBe(
      before.balance - 30n * PRICE,
    );
    expect((await earned()) - edgeBefore).toBe(30n * PRICE);
    // Later, attestations of more minutes of the real grant still do nothing for the cheap one.
    await expectCode(
      settle(playerClients, escrow, {
        grant: cheap,
        grantSignature: cheapSignature,
        minutes: 45,
        attestations: await attest(escrow, grant, 45),
        checkerSet: set,
      }),
      'CHAIN_NOT_CHECKER',
    );
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(30);
  });

  it('refuses a grant signed for another chain or another contract', async () => {
    const grant = await newGrant();
    const attestations = await attest(escrow, grant, 3);
    const otherChain = await signGrant(
      accounts.player,
      { ...escrow, chainId: chainId === 31337 ? 31338 : 31337 },
      grant,
    );
    await expectCode(
      settle(admin, escrow, { grant, grantSignature: otherChain, minutes: 3, attestations, checkerSet: set }),
      'CHAIN_BAD_SIGNATURE',
    );
    const otherContract = await signGrant(accounts.player, { ...escrow, address: token }, grant);
    await expectCode(
      settle(admin, escrow, {
        grant,
        grantSignature: otherContract,
        minutes: 3,
        attestations,
        checkerSet: set,
      }),
      'CHAIN_BAD_SIGNATURE',
    );
    // A grant signed by someone else than its player.
    const forged = await signGrant(accounts.edge, escrow, grant);
    await expectCode(
      settle(admin, escrow, { grant, grantSignature: forged, minutes: 3, attestations, checkerSet: set }),
      'CHAIN_BAD_SIGNATURE',
    );
  });

  it('refuses an expired grant and minutes beyond the grant', async () => {
    const grant = await newGrant({ expiry: (await chainNow()) + 100n, maxMinutes: 30 });
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    await expectCode(
      settle(admin, escrow, {
        grant,
        grantSignature,
        minutes: 31,
        attestations: await attest(escrow, grant, 31),
        checkerSet: set,
      }),
      'CHAIN_BEYOND_GRANT',
    );
    await testClient.increaseTime({ seconds: 200 });
    await testClient.mine({ blocks: 1 });
    await expectCode(
      settle(admin, escrow, {
        grant,
        grantSignature,
        minutes: 30,
        attestations: await attest(escrow, grant, 30),
        checkerSet: set,
      }),
      'CHAIN_GRANT_EXPIRED',
    );
  });

  it('refuses a settlement the player balance cannot cover', async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    const grant = await newGrant({ player: poor.address });
    await expectCode(
      settle(admin, escrow, {
        grant,
        grantSignature: await signGrant(poor, escrow, grant),
        minutes: 1,
        attestations: await attest(escrow, grant, 1),
        checkerSet: set,
      }),
      'CHAIN_INSUFFICIENT_BALANCE',
    );
  });

  it('settles many sessions in one transaction with one quorum over the batch', async () => {
    const sessions = [];
    for (const minutes of [10, 20, 30]) {
      const grant = await newGrant();
      sessions.push({ grant, grantSignature: await signGrant(accounts.player, escrow, grant), minutes });
    }
    const batch = batchOf(sessions, policyHash);
    const sign = (list: typeof checkers) =>
      Promise.all(
        list.map(async (c) => ({
          signer: c.address,
          signature: await signAttestationBatch(c, escrow, batch),
        })),
      );
    const before = await readAccount(admin.publicClient, escrow, accounts.player.address);
    const ids = sessions.map((s) => s.grant.sessionId);
    const edgeBefore = await readEdgeEarnings(admin.publicClient, escrow, accounts.edge.address, ids);
    // A batch whose minutes differ from what the checkers signed is refused.
    const tampered = sessions.map((s, i) => (i === 1 ? { ...s, minutes: 21 } : s));
    await expectCode(
      batchSettle(admin, escrow, {
        sessions: tampered,
        attestations: await sign(checkers.slice(0, 3)),
        checkerSet: set,
      }),
      'CHAIN_NOT_CHECKER',
    );
    await expectCode(
      batchSettle(admin, escrow, {
        sessions,
        attestations: await sign(checkers.slice(0, 2)),
        checkerSet: set,
      }),
      'CHAIN_BELOW_QUORUM',
    );

    await batchSettle(admin, escrow, {
      sessions,
      attestations: await sign(checkers.slice(1, 4)),
      checkerSet: set,
    });
    const amount = 60n * PRICE;
    expect((await readAccount(admin.publicClient, escrow, accounts.player.address)).balance).toBe(
      before.balance - amount,
    );
    const edgeAfter = await readEdgeEarnings(admin.publicClient, escrow, accounts.edge.address, ids);
    expect(edgeAfter - edgeBefore).toBe(amount);
    for (const s of sessions)
      expect(await paidMinutes(admin.publicClient, escrow, s.grant.edge, s.grant.sessionId)).toBe(s.minutes);
    await expectCode(
      batchSettle(admin, escrow, {
        sessions,
        attestations: await sign(checkers.slice(0, 3)),
        checkerSet: set,
      }),
      'CHAIN_NOTHING_TO_SETTLE',
    );
  });

  it('withdraws only after the unlock delay, and settlement during the delay still draws on the balance', async () => {
    const player = privateKeyToAccount(generatePrivateKey());
    await testClient.setBalance({ address: player.address, value: parseEther('1') });
    const clients = createChainClients(chain, player);
    await sendTx(admin, {
      address: token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [player.address, parseEther('1')],
    });
    await deposit(clients, escrow, token, parseEther('1'));

    await expectCode(withdraw(clients, escrow), 'CHAIN_NO_WITHDRAWAL');
    await requestWithdraw(clients, escrow, parseEther('1'));
    await expectCode(withdraw(clients, escrow), 'CHAIN_WITHDRAWAL_LOCKED');

    // The edge settles 20 minutes while the withdrawal waits: the money is still there to pay it.
    const grant = await newGrant({ player: player.address });
    await settle(admin, escrow, {
      grant,
      grantSignature: await signGrant(player, escrow, grant),
      minutes: 20,
      attestations: await attest(escrow, grant, 20),
      checkerSet: set,
    });
    await testClient.increaseTime({ seconds: WITHDRAW_DELAY - 60 });
    await testClient.mine({ blocks: 1 });
    await expectCode(withdraw(clients, escrow), 'CHAIN_WITHDRAWAL_LOCKED');
    await testClient.increaseTime({ seconds: 120 });
    await testClient.mine({ blocks: 1 });
    await withdraw(clients, escrow);
    expect(await balanceOf(token, player.address)).toBe(parseEther('1') - 20n * PRICE);
    expect(await readAccount(admin.publicClient, escrow, player.address)).toEqual({
      balance: 0n,
      withdrawAmount: 0n,
      unlockAt: 0,
    });
  });
});
