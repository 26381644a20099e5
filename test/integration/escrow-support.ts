// Shared set-up of the SessionEscrow integration tests (contracts-escrow*.test.ts): the payments chain on the
// global anvil, a fresh deployment per file, grants and attestations.
import { type Address, createTestClient, http, keccak256, parseEther, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { inject } from 'vitest';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { type CheckerSet, sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployPaymentsChain } from '../../contracts-client/src/deploy.js';
import {
  attestationOf,
  deposit,
  type EscrowRef,
  signAttestation,
} from '../../contracts-client/src/escrow.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import type { Grant } from '../../protocol/eip712.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';

const rpcUrl = inject('paymentsRpcUrl');
/** The payments chain's id (anvil, started by the integration global set-up). */
export const chainId = inject('paymentsChainId');
/** The payments chain (local anvil). */
export const chain = localChain(chainId, rpcUrl);
/** The funded local accounts. */
export const accounts = localAccounts();
/** Deployer clients. */
export const admin = createChainClients(chain, accounts.deployer);
/** Player clients. */
export const playerClients = createChainClients(chain, accounts.player);
/** Edge clients. */
export const edgeClients = createChainClients(chain, accounts.edge);
/** anvil test actions (time travel, balances). */
export const testClient = createTestClient({ mode: 'anvil', chain, transport: http(rpcUrl) });
/** The five checkers, ascending by address. */
export const checkers = [...accounts.checkers].sort((a, b) =>
  BigInt(a.address) < BigInt(b.address) ? -1 : 1,
);
/** The QoS policy hash the escrow is deployed with. */
export const policyHash = qosPolicyHash();
/** Price per minute of the grants made by newGrant. */
export const PRICE = parseEther('0.01');
/** Protocol fee the escrow is deployed with. */
export const FEE_BPS = 250n;
/** Withdrawal delay the escrow is deployed with (seconds). */
export const WITHDRAW_DELAY = 3600;

/** A freshly deployed payments chain, 3 of 5 checkers, the player holding 100 ATH with 10 deposited. */
export interface EscrowFixture {
  escrow: EscrowRef;
  token: Address;
  registry: Address;
  timelock: Address;
  set: CheckerSet;
}

let sessionCounter = 0;

/** Deploys the payments chain contracts and funds the player. */
export async function deployEscrowFixture(): Promise<EscrowFixture> {
  const set = { checkers: sortAddresses(checkers.map((c) => c.address)), quorum: 3, policyHash };
  const d = await deployPaymentsChain(admin, {
    checkerSet: set,
    treasury: accounts.treasury.address,
    feeBps: Number(FEE_BPS),
    withdrawDelay: WITHDRAW_DELAY,
    timelockDelay: 600n,
  });
  const escrow = { address: d.escrow as Address, chainId };
  await sendTx(admin, {
    address: d.token,
    abi: testATHAbi,
    functionName: 'mint',
    args: [accounts.player.address, parseEther('100')],
  });
  await deposit(playerClients, escrow, d.token, parseEther('10'));
  return { escrow, token: d.token, registry: d.checkerRegistry, timelock: d.timelock, set };
}

export { expectCode } from '../support/expectCode.js';

/** xs[i], failing the test if it is missing. */
export function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i}`);
  return x;
}

/** The latest block's timestamp. */
export async function chainNow(): Promise<bigint> {
  return (await admin.publicClient.getBlock()).timestamp;
}

/** A fresh grant from the player to the edge at PRICE, 60 minutes, expiring in a day. */
export async function newGrant(over: Partial<Grant> = {}): Promise<Grant> {
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

/** Attestations of `minutes` under `grant` by `signers` (the first three checkers by default). */
export async function attest(
  escrow: EscrowRef,
  grant: Grant,
  minutes: number,
  signers = checkers.slice(0, 3),
) {
  return Promise.all(
    signers.map(async (c) => ({
      signer: c.address,
      signature: await signAttestation(c, escrow, attestationOf(grant, minutes, policyHash)),
    })),
  );
}

/** ATH balance of `address`. */
export async function balanceOf(token: Address, address: Address): Promise<bigint> {
  return admin.publicClient.readContract({
    address: token,
    abi: testATHAbi,
    functionName: 'balanceOf',
    args: [address],
  });
}
