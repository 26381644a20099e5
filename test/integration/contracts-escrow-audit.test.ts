import {
  type Address,
  createTestClient,
  type Hex,
  http,
  keccak256,
  type LocalAccount,
  parseEther,
  parseSignature,
  serializeSignature,
  toHex,
  zeroAddress,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { sessionEscrowAbi, sessionEscrowBytecode } from '../../contracts-client/src/abis/SessionEscrow.js';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { timelockControllerAbi } from '../../contracts-client/src/abis/TimelockController.js';
import { localChain } from '../../contracts-client/src/chains.js';
import {
  type CheckerSet,
  cancelCheckerChange,
  executeCheckerChange,
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
  paidMinutes,
  readEdgeEarnings,
  requestWithdraw,
  type SessionSettlement,
  SettlementSkipReason,
  settle,
  signAttestation,
  signAttestationBatch,
  signGrant,
  verifyAttestation,
  verifyGrant,
  withdraw,
} from '../../contracts-client/src/escrow.js';
import { getPlayerBalance } from '../../contracts-client/src/getPlayerBalance.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import { type ChainClients, SECP256K1_HALF_N, sendTx } from '../../contracts-client/src/tx.js';
import type { Grant } from '../../protocol/eip712.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';
import { expectCode } from '../support/expectCode.js';

// Audit findings 1, 2, 4, 6 and 7 (issue 14) on the payments chain.
const rpcUrl = inject('paymentsRpcUrl');
const chainId = inject('paymentsChainId');
const chain = localChain(chainId, rpcUrl);
const accounts = localAccounts();
const admin = createChainClients(chain, accounts.deployer);
const testClient = createTestClient({ mode: 'anvil', chain, transport: http(rpcUrl) });
const checkers = [...accounts.checkers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
const policyHash = qosPolicyHash();
const PRICE = parseEther('0.01');
const WITHDRAW_DELAY = 6 * 3600;
const CLAIM_WINDOW = 3600;
const SETTLEMENT_WINDOW = 3600n;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

let escrow: EscrowRef;
let token: Address;
let timelock: Address;
let set: CheckerSet;
let sessionCounter = 0;

async function chainNow(): Promise<bigint> {
  return (await admin.publicClient.getBlock()).timestamp;
}

async function advance(seconds: number) {
  await testClient.increaseTime({ seconds });
  await testClient.mine({ blocks: 1 });
}

async function balanceOf(address: Address): Promise<bigint> {
  return admin.publicClient.readContract({
    address: token,
    abi: testATHAbi,
    functionName: 'balanceOf',
    args: [address],
  });
}

/** A fresh player with ETH for gas and `deposited` ATH in escrow. */
async function newPlayer(deposited: bigint): Promise<{ account: LocalAccount; clients: ChainClients }> {
  const account = privateKeyToAccount(generatePrivateKey());
  await testClient.setBalance({ address: account.address, value: parseEther('1') });
  const clients = createChainClients(chain, account);
  if (deposited > 0n) {
    await sendTx(admin, {
      address: token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [account.address, deposited],
    });
    await deposit(clients, escrow, token, deposited);
  }
  return { account, clients };
}

/** A grant the matchmaker would issue at session start: expiry = start + maxMinutes + the settlement window. */
async function startSession(player: LocalAccount, over: Partial<Grant> = {}): Promise<SessionSettlement> {
  sessionCounter += 1;
  const grant: Grant = {
    sessionId: keccak256(toHex(`escrow-audit-${sessionCounter}`)),
    player: player.address,
    edge: accounts.edge.address,
    pricePerMinute: PRICE,
    maxMinutes: 60,
    expiry: (await chainNow()) + 60n * 60n + SETTLEMENT_WINDOW,
    sessionKey: privateKeyToAccount(generatePrivateKey()).address,
    ...over,
  };
  return { grant, grantSignature: await signGrant(player, escrow, grant), minutes: over.maxMinutes ?? 60 };
}

async function settleAttested(s: SessionSettlement, minutes = s.minutes) {
  const attestations = await Promise.all(
    checkers.slice(0, 3).map(async (c) => ({
      signer: c.address,
      signature: await signAttestation(c, escrow, attestationOf(s.grant, minutes, policyHash)),
    })),
  );
  return settle(admin, escrow, { ...s, minutes, attestations, checkerSet: set });
}

async function batchAttested(sessions: readonly SessionSettlement[]) {
  const batch = batchOf(sessions, policyHash);
  const attestations = await Promise.all(
    checkers
      .slice(0, 3)
      .map(async (c) => ({ signer: c.address, signature: await signAttestationBatch(c, escrow, batch) })),
  );
  return batchSettle(admin, escrow, { sessions, attestations, checkerSet: set });
}

/** The malleable twin of a valid 65-byte signature: s → n − s, parity flipped. Recovers to the same signer. */
function highS(signature: Hex): Hex {
  const { r, s, yParity } = parseSignature(signature);
  const twin = N - BigInt(s);
  expect(twin > SECP256K1_HALF_N).toBe(true);
  return serializeSignature({ r, s: toHex(twin, { size: 32 }), yParity: yParity === 0 ? 1 : 0 });
}

beforeAll(async () => {
  set = { checkers: sortAddresses(checkers.map((c) => c.address)), quorum: 3, policyHash };
  const d = await deployPaymentsChain(admin, {
    checkerSet: set,
    treasury: accounts.treasury.address,
    withdrawDelay: WITHDRAW_DELAY,
    withdrawClaimWindow: CLAIM_WINDOW,
    timelockDelay: 600n,
  });
  escrow = { address: d.escrow as Address, chainId };
  token = d.token;
  timelock = d.timelock;
});

describe('withdrawals cannot take money a covered session was granted (finding 1)', () => {
  it('a request expires after its claim window, so a session started on the balance it freed is paid', async () => {
    const { account, clients } = await newPlayer(parseEther('1'));
    await requestWithdraw(clients, escrow, parseEther('1'));
    const pending = await getPlayerBalance(admin.publicClient, escrow, account.address);
    expect(pending).toMatchObject({
      balance: parseEther('1'),
      pendingWithdrawal: parseEther('1'),
      available: 0n,
    });
    expect(pending.expiresAt - pending.unlockAt).toBe(CLAIM_WINDOW);

    // The player waits out the delay and lets the claim window pass: the request no longer counts as spent.
    await advance(WITHDRAW_DELAY + CLAIM_WINDOW + 1);
    const free = await getPlayerBalance(admin.publicClient, escrow, account.address);
    expect(free).toEqual({
      balance: parseEther('1'),
      pendingWithdrawal: 0n,
      available: parseEther('1'),
      unlockAt: 0,
      expiresAt: 0,
    });
    // So the matchmaker starts a 60-minute session on it (0.6 ATH ≤ available) ...
    const session = await startSession(account);
    expect(free.available >= session.grant.pricePerMinute * BigInt(session.grant.maxMinutes)).toBe(true);
    // ... and the old request cannot drain the balance ahead of the edge's settlement (it could before).
    await expectCode(withdraw(clients, escrow), 'CHAIN_WITHDRAWAL_EXPIRED');
    await advance(3600);
    await settleAttested(session);
    expect(await paidMinutes(admin.publicClient, escrow, session.grant.edge, session.grant.sessionId)).toBe(
      60,
    );
    expect((await getPlayerBalance(admin.publicClient, escrow, account.address)).balance).toBe(
      parseEther('0.4'),
    );
  });

  it('a request made after the session started unlocks only after the grant expired, so the edge settles first', async () => {
    const { account, clients } = await newPlayer(parseEther('1'));
    const session = await startSession(account);
    // Right after the start the player asks for everything back: new sessions see nothing available.
    await requestWithdraw(clients, escrow, parseEther('1'));
    expect((await getPlayerBalance(admin.publicClient, escrow, account.address)).available).toBe(0n);
    // The whole settlement window (grant expiry) passes inside the withdrawal delay.
    expect(session.grant.expiry < (await chainNow()) + BigInt(WITHDRAW_DELAY)).toBe(true);
    await advance(Number(60n * 60n + SETTLEMENT_WINDOW) - 60);
    await expectCode(withdraw(clients, escrow), 'CHAIN_WITHDRAWAL_LOCKED');
    await settleAttested(session);
    // Into the request's claim window (it unlocks WITHDRAW_DELAY after the request, right after the start).
    await advance(WITHDRAW_DELAY - Number(60n * 60n + SETTLEMENT_WINDOW) + 600);
    await withdraw(clients, escrow);
    expect(await balanceOf(account.address)).toBe(parseEther('0.4'));
    expect((await getPlayerBalance(admin.publicClient, escrow, account.address)).balance).toBe(0n);
  });
});

describe('batchSettle settles what it can (finding 2)', () => {
  it('skips a drained player, an expired grant, a bad signature, beyond-grant and already-paid records, pays the rest', async () => {
    const { account } = await newPlayer(parseEther('5'));
    const drained = await newPlayer(0n);
    const good1 = await startSession(account);
    const paid = await startSession(account);
    await settleAttested(paid);
    const broke = await startSession(drained.account);
    const expiring = await startSession(account, { expiry: (await chainNow()) + 60n });
    const forged = await startSession(account);
    forged.grantSignature = await signGrant(accounts.edge, escrow, forged.grant);
    const greedy = { ...(await startSession(account)), minutes: 61 };
    const good2 = await startSession(account);
    await advance(120);
    const before = (await getPlayerBalance(admin.publicClient, escrow, account.address)).balance;

    const sessions = [good1, paid, broke, expiring, forged, greedy, good2];
    const { skipped } = await batchAttested(sessions);
    expect(skipped.map((s) => [s.index, s.sessionId, s.reason, s.code])).toEqual([
      [1, paid.grant.sessionId, SettlementSkipReason.nothingToSettle, 'CHAIN_NOTHING_TO_SETTLE'],
      [2, broke.grant.sessionId, SettlementSkipReason.insufficientBalance, 'CHAIN_INSUFFICIENT_BALANCE'],
      [3, expiring.grant.sessionId, SettlementSkipReason.grantExpired, 'CHAIN_GRANT_EXPIRED'],
      [4, forged.grant.sessionId, SettlementSkipReason.badGrantSignature, 'CHAIN_BAD_SIGNATURE'],
      [5, greedy.grant.sessionId, SettlementSkipReason.beyondGrant, 'CHAIN_BEYOND_GRANT'],
    ]);
    // The honest records were paid in full, nothing else moved.
    for (const s of [good1, good2]) {
      expect(await paidMinutes(admin.publicClient, escrow, s.grant.edge, s.grant.sessionId)).toBe(60);
    }
    for (const s of [broke, expiring, forged, greedy]) {
      expect(await paidMinutes(admin.publicClient, escrow, s.grant.edge, s.grant.sessionId)).toBe(0);
    }
    expect((await getPlayerBalance(admin.publicClient, escrow, account.address)).balance).toBe(
      before - 120n * PRICE,
    );
    expect(
      await readEdgeEarnings(admin.publicClient, escrow, accounts.edge.address, [
        good1.grant.sessionId,
        good2.grant.sessionId,
      ]),
    ).toBeGreaterThanOrEqual(120n * PRICE);

    // A batch where nothing settles reverts with its first record's reason.
    await expectCode(batchAttested([broke, good1]), 'CHAIN_INSUFFICIENT_BALANCE');
  });
});

describe('the treasury is never the zero address (finding 4)', () => {
  it('refuses it at deployment and through the timelock’s setFee', async () => {
    const args = [
      token,
      timelock,
      zeroAddress,
      250,
      WITHDRAW_DELAY,
      CLAIM_WINDOW,
      set.checkers,
      3n,
      policyHash,
    ] as const;
    await expect(
      admin.walletClient.deployContract({ abi: sessionEscrowAbi, bytecode: sessionEscrowBytecode, args }),
    ).rejects.toThrow(/ZeroTreasury|revert/);
    await expectCode(
      deployPaymentsChain(admin, { token, checkerSet: set, treasury: zeroAddress, timelockDelay: 600n }),
      'CHAIN_BAD_CONFIG',
    );
    // Governance cannot set it either: the change executes into a revert, the treasury stays.
    const change = {
      timelock,
      registry: escrow.address,
      change: { kind: 'setFee', feeBps: 300, treasury: zeroAddress } as const,
    };
    await scheduleCheckerChange(admin, change);
    await advance(601);
    await expectCode(executeCheckerChange(admin, change), 'CHAIN_BAD_CONFIG');
    expect(
      await admin.publicClient.readContract({
        address: escrow.address,
        abi: sessionEscrowAbi,
        functionName: 'treasury',
      }),
    ).toBe(accounts.treasury.address);
  });
});

describe('the client refuses the high-s twin the contract refuses (finding 6)', () => {
  it('verifyGrant, verifyAttestation and settle agree with the contract', async () => {
    const { account } = await newPlayer(parseEther('1'));
    const session = await startSession(account);
    const twin = highS(session.grantSignature);
    expect(await verifyGrant(escrow, session.grant, session.grantSignature)).toBe(true);
    expect(await verifyGrant(escrow, session.grant, twin)).toBe(false);
    const checker = checkers[0] as LocalAccount;
    const attestation = attestationOf(session.grant, 60, policyHash);
    const signature = await signAttestation(checker, escrow, attestation);
    expect(await verifyAttestation(escrow, attestation, signature, checker.address)).toBe(true);
    expect(await verifyAttestation(escrow, attestation, highS(signature), checker.address)).toBe(false);
    await expectCode(settleAttested({ ...session, grantSignature: twin }), 'CHAIN_MALFORMED_SIGNATURE');
    expect(await paidMinutes(admin.publicClient, escrow, session.grant.edge, session.grant.sessionId)).toBe(
      0,
    );
    await settleAttested(session);
    expect(await paidMinutes(admin.publicClient, escrow, session.grant.edge, session.grant.sessionId)).toBe(
      60,
    );
  });
});

describe('governance (finding 7)', () => {
  it('refuses zero delays, and gives the timelock separate proposer, executor and canceller sets', async () => {
    await expectCode(
      deployPaymentsChain(admin, {
        token,
        checkerSet: set,
        treasury: accounts.treasury.address,
        timelockDelay: 0n,
      }),
      'CHAIN_BAD_CONFIG',
    );
    await expectCode(
      deployPaymentsChain(admin, {
        token,
        checkerSet: set,
        treasury: accounts.treasury.address,
        withdrawDelay: 0,
      }),
      'CHAIN_BAD_CONFIG',
    );
    const args = [
      token,
      timelock,
      accounts.treasury.address,
      250,
      0,
      CLAIM_WINDOW,
      set.checkers,
      3n,
      policyHash,
    ] as const;
    await expect(
      admin.walletClient.deployContract({ abi: sessionEscrowAbi, bytecode: sessionEscrowBytecode, args }),
    ).rejects.toThrow(/ZeroDelay|revert/);

    const [proposer, executor, canceller] = await Promise.all(
      [0, 1, 2].map(async () => {
        const account = privateKeyToAccount(generatePrivateKey());
        await testClient.setBalance({ address: account.address, value: parseEther('1') });
        return createChainClients(chain, account);
      }),
    );
    if (proposer === undefined || executor === undefined || canceller === undefined)
      throw new Error('no clients');
    const who = (c: ChainClients) => c.walletClient.account.address;
    const d = await deployPaymentsChain(admin, {
      token,
      checkerSet: set,
      treasury: accounts.treasury.address,
      timelockDelay: 600n,
      governance: { proposers: [who(proposer)], executors: [who(executor)], cancellers: [who(canceller)] },
    });
    const role = (name: 'PROPOSER_ROLE' | 'EXECUTOR_ROLE' | 'CANCELLER_ROLE' | 'DEFAULT_ADMIN_ROLE') =>
      admin.publicClient.readContract({
        address: d.timelock,
        abi: timelockControllerAbi,
        functionName: name,
      });
    const has = async (name: Parameters<typeof role>[0], account: Address) =>
      admin.publicClient.readContract({
        address: d.timelock,
        abi: timelockControllerAbi,
        functionName: 'hasRole',
        args: [await role(name), account],
      });
    expect(await has('CANCELLER_ROLE', who(proposer))).toBe(false);
    expect(await has('CANCELLER_ROLE', who(canceller))).toBe(true);
    expect(await has('DEFAULT_ADMIN_ROLE', accounts.deployer.address)).toBe(false);

    const change = {
      timelock: d.timelock,
      registry: d.escrow as Address,
      change: { kind: 'setFee', feeBps: 100, treasury: accounts.treasury.address } as const,
    };
    await expectCode(scheduleCheckerChange(canceller, change), 'CHAIN_NOT_AUTHORIZED');
    await scheduleCheckerChange(proposer, change);
    await expectCode(cancelCheckerChange(proposer, change), 'CHAIN_NOT_AUTHORIZED');
    await cancelCheckerChange(canceller, change);
    await scheduleCheckerChange(proposer, change);
    await advance(601);
    await expectCode(executeCheckerChange(proposer, change), 'CHAIN_NOT_AUTHORIZED');
    await executeCheckerChange(executor, change);
    expect(
      await admin.publicClient.readContract({
        address: d.escrow as Address,
        abi: sessionEscrowAbi,
        functionName: 'feeBps',
      }),
    ).toBe(100);
  });
});
