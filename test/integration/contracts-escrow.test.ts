import {
  type Address,
  createTestClient,
  domainSeparator,
  type Hex,
  http,
  keccak256,
  parseEther,
  toHex,
  zeroHash,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { checkerRegistryAbi } from '../../contracts-client/src/abis/CheckerRegistry.js';
import { sessionEscrowAbi } from '../../contracts-client/src/abis/SessionEscrow.js';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import {
  type CheckerSet,
  executeCheckerChange,
  readCheckerSet,
  scheduleCheckerChange,
  sortAddresses,
} from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployPaymentsChain } from '../../contracts-client/src/deploy.js';
import {
  attestationOf,
  batchOf,
  batchSettle,
  deposit,
  type EscrowRef,
  encodeSettlement,
  paidMinutes,
  readAccount,
  readEdgeEarnings,
  requestWithdraw,
  settle,
  signAttestation,
  signAttestationBatch,
  signGrant,
  sortSignatures,
  verifyAttestation,
  verifyGrant,
  withdraw,
  withdrawEarnings,
} from '../../contracts-client/src/escrow.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import { escrowDomain, type Grant } from '../../protocol/eip712.js';
import { type ErrorCode, FarplayError } from '../../protocol/errors.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';

const rpcUrl = inject('paymentsRpcUrl');
const chainId = inject('paymentsChainId');
const chain = localChain(chainId, rpcUrl);
const accounts = localAccounts();
const admin = createChainClients(chain, accounts.deployer);
const playerClients = createChainClients(chain, accounts.player);
const edgeClients = createChainClients(chain, accounts.edge);
const testClient = createTestClient({ mode: 'anvil', chain, transport: http(rpcUrl) });
const checkers = [...accounts.checkers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
const policyHash = qosPolicyHash();
const PRICE = parseEther('0.01');
const FEE_BPS = 250n;
const WITHDRAW_DELAY = 3600;

let escrow: EscrowRef;
let token: Address;
let registry: Address;
let timelock: Address;
let set: CheckerSet;
let sessionCounter = 0;

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FarplayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(FarplayError);
  expect((error as FarplayError).code).toBe(code);
  return error as FarplayError;
}

/** xs[i], failing the test if it is missing. */
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i}`);
  return x;
}

async function chainNow(): Promise<bigint> {
  return (await admin.publicClient.getBlock()).timestamp;
}

async function newGrant(over: Partial<Grant> = {}): Promise<Grant> {
  sessionCounter += 1;
  return {
    sessionId: keccak256(toHex(`escrow-test-${sessionCounter}`)),
    player: accounts.player.address,
    edge: accounts.edge.address,
    pricePerMinute: PRICE,
    maxMinutes: 60,
    expiry: (await chainNow()) + 86_400n,
    sessionKey: privateKeyToAccount(generatePrivateKey()).address,
    ...over,
  };
}

async function attest(grant: Grant, minutes: number, signers = checkers.slice(0, 3)) {
  return Promise.all(
    signers.map(async (c) => ({
      signer: c.address,
      signature: await signAttestation(c, escrow, attestationOf(grant, minutes, policyHash)),
    })),
  );
}

async function balanceOf(address: Address): Promise<bigint> {
  return admin.publicClient.readContract({
    address: token,
    abi: testATHAbi,
    functionName: 'balanceOf',
    args: [address],
  });
}

beforeAll(async () => {
  set = { checkers: sortAddresses(checkers.map((c) => c.address)), quorum: 3, policyHash };
  const d = await deployPaymentsChain(admin, {
    checkerSet: set,
    treasury: accounts.treasury.address,
    feeBps: Number(FEE_BPS),
    withdrawDelay: WITHDRAW_DELAY,
    timelockDelay: 600n,
  });
  escrow = { address: d.escrow as Address, chainId };
  token = d.token;
  registry = d.checkerRegistry;
  timelock = d.timelock;
  await sendTx(admin, {
    address: token,
    abi: testATHAbi,
    functionName: 'mint',
    args: [accounts.player.address, parseEther('100')],
  });
  await deposit(playerClients, escrow, token, parseEther('10'));
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
    const a = at(await attest(grant, 5, checkers.slice(0, 1)), 0);
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
      attestations: await attest(grant, 45),
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
      attestations: await attest(grant, 60),
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
    const treasuryBefore = await balanceOf(accounts.treasury.address);
    await withdrawEarnings(edgeClients, escrow, payout, [grant.sessionId]);
    expect(await balanceOf(payout)).toBe(gross - fee);
    expect((await balanceOf(accounts.treasury.address)) - treasuryBefore).toBe(fee);
    expect(await earned()).toBe(0n);
    // The replay guard survives the withdrawal, and a second withdrawal has nothing to pay.
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(60);
    await expectCode(withdrawEarnings(edgeClients, escrow, payout, [grant.sessionId]), 'CHAIN_REVERTED');
  });

  it('refuses a replayed attestation and settling the same minutes twice', async () => {
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const attestations = await attest(grant, 10);
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
        attestations: await attest(grant, 5),
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
    const attestations = await attest(grant, 30);
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
        attestations: await attest(grant, 45),
        checkerSet: set,
      }),
      'CHAIN_NOT_CHECKER',
    );
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(30);
  });

  it('refuses a grant signed for another chain or another contract', async () => {
    const grant = await newGrant();
    const attestations = await attest(grant, 3);
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
        attestations: await attest(grant, 31),
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
        attestations: await attest(grant, 30),
        checkerSet: set,
      }),
      'CHAIN_GRANT_EXPIRED',
    );
  });

  it('refuses unsorted or duplicate signers, a non-checker signer and fewer than the quorum', async () => {
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const sorted = await attest(grant, 7);
    const base = { grant, grantSignature, minutes: 7, checkerSet: set, presorted: true };
    await expectCode(
      settle(admin, escrow, { ...base, attestations: [...sorted].reverse() }),
      'CHAIN_SIGNERS_UNSORTED',
    );
    await expectCode(
      settle(admin, escrow, { ...base, attestations: [at(sorted, 0), at(sorted, 0), at(sorted, 1)] }),
      'CHAIN_SIGNERS_UNSORTED',
    );
    const outsider = privateKeyToAccount(generatePrivateKey());
    const outsiderSig = {
      signer: outsider.address,
      signature: await signAttestation(outsider, escrow, attestationOf(grant, 7, policyHash)),
    };
    await expectCode(
      settle(admin, escrow, {
        ...base,
        presorted: false,
        attestations: [at(sorted, 0), at(sorted, 1), outsiderSig],
      }),
      'CHAIN_NOT_CHECKER',
    );
    await expectCode(
      settle(admin, escrow, { ...base, attestations: sorted.slice(0, 2) }),
      'CHAIN_BELOW_QUORUM',
    );
    // Attestations under another QoS policy do not verify.
    const otherPolicy = await Promise.all(
      checkers.slice(0, 3).map(async (c) => ({
        signer: c.address,
        signature: await signAttestation(c, escrow, attestationOf(grant, 7, zeroHash)),
      })),
    );
    await expectCode(
      settle(admin, escrow, { ...base, presorted: false, attestations: otherPolicy }),
      'CHAIN_NOT_CHECKER',
    );
    // The valid quorum still settles: nothing was half-written by the refusals.
    await settle(admin, escrow, { ...base, presorted: false, attestations: sorted });
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(7);
  });

  it('refuses a malformed blob and signers placed at the wrong set positions', async () => {
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const attestations = sortSignatures(await attest(grant, 9));
    const blob = encodeSettlement(set, attestations, [{ grant, grantSignature, minutes: 9 }]);
    const send = (data: Hex) =>
      sendTx(admin, { address: escrow.address, abi: sessionEscrowAbi, functionName: 'settle', args: [data] });
    // One byte short, one byte too many, nothing at all.
    await expectCode(send(blob.slice(0, -2) as Hex), 'CHAIN_REVERTED');
    await expectCode(send(`${blob}00`), 'CHAIN_REVERTED');
    await expectCode(send('0x'), 'CHAIN_REVERTED');
    // The same signatures claimed for other checkers of the set: the rebuilt set does not hash to the config.
    const maskAt = 2 + 2 * 35; // hex offset of the one-byte signer mask
    const mask = Number.parseInt(blob.slice(maskAt, maskAt + 2), 16);
    const moved = `${blob.slice(0, maskAt)}${((mask << 1) & 0x1f).toString(16).padStart(2, '0')}${blob.slice(maskAt + 2)}`;
    await expectCode(send(moved as Hex), 'CHAIN_STALE_CHECKER_SET');
    // A set whose quorum claims 2 instead of 3: the config hash does not match either.
    const lowQuorum = encodeSettlement({ ...set, quorum: 2 }, attestations.slice(0, 2), [
      { grant, grantSignature, minutes: 9 },
    ]);
    await expectCode(send(lowQuorum), 'CHAIN_STALE_CHECKER_SET');
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(0);
    await send(blob);
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(9);
  });

  it('refuses a settlement the player balance cannot cover', async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    const grant = await newGrant({ player: poor.address });
    await expectCode(
      settle(admin, escrow, {
        grant,
        grantSignature: await signGrant(poor, escrow, grant),
        minutes: 1,
        attestations: await attest(grant, 1),
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
      attestations: await attest(grant, 20),
      checkerSet: set,
    });
    await testClient.increaseTime({ seconds: WITHDRAW_DELAY - 60 });
    await testClient.mine({ blocks: 1 });
    await expectCode(withdraw(clients, escrow), 'CHAIN_WITHDRAWAL_LOCKED');
    await testClient.increaseTime({ seconds: 120 });
    await testClient.mine({ blocks: 1 });
    await withdraw(clients, escrow);
    expect(await balanceOf(player.address)).toBe(parseEther('1') - 20n * PRICE);
    expect(await readAccount(admin.publicClient, escrow, player.address)).toEqual({
      balance: 0n,
      withdrawAmount: 0n,
      unlockAt: 0,
    });
  });

  it('changes the checker set only through the timelock, and stale sets are refused', async () => {
    const newcomer = privateKeyToAccount(generatePrivateKey());
    const change = { timelock, registry, change: { kind: 'addChecker', checker: newcomer.address } as const };
    // Nobody, not even the deployer, changes the registry directly.
    await expectCode(
      sendTx(admin, {
        address: registry,
        abi: checkerRegistryAbi,
        functionName: 'addChecker',
        args: [newcomer.address],
      }),
      'CHAIN_NOT_AUTHORIZED',
    );
    await scheduleCheckerChange(admin, change);
    await expectCode(executeCheckerChange(admin, change), 'CHAIN_NOT_AUTHORIZED');
    await testClient.increaseTime({ seconds: 601 });
    await testClient.mine({ blocks: 1 });
    await executeCheckerChange(admin, change);
    const current = await readCheckerSet(admin.publicClient, registry);
    expect(current.checkers).toContain(newcomer.address);
    expect(current.checkers).toEqual(sortAddresses(current.checkers));

    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const attestations = await attest(grant, 4);
    await expectCode(
      settle(admin, escrow, { grant, grantSignature, minutes: 4, attestations, checkerSet: set }),
      'CHAIN_STALE_CHECKER_SET',
    );
    // The newcomer's attestation now counts.
    const withNewcomer = [
      ...attestations.slice(0, 2),
      {
        signer: newcomer.address,
        signature: await signAttestation(newcomer, escrow, attestationOf(grant, 4, policyHash)),
      },
    ];
    await settle(admin, escrow, {
      grant,
      grantSignature,
      minutes: 4,
      attestations: withNewcomer,
      checkerSet: current,
    });
    set = current;
  });
});
