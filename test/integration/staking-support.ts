import { type Address, createTestClient, http, type LocalAccount, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { inject } from 'vitest';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { type CheckerSet, sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployStakingChain } from '../../contracts-client/src/deploy.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import type { StakingRef } from '../../contracts-client/src/staking.js';
import { type ChainClients, sendTx } from '../../contracts-client/src/tx.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';

// What the StakingRegistry tests share: the staking chain the test setup started, its well-known
// accounts, and a fresh deployment per file.

const rpcUrl = inject('stakingRpcUrl');
export const chainId = inject('stakingChainId');
export const chain = localChain(chainId, rpcUrl);
export const accounts = localAccounts();
/** Clients of the deployer (mints test ATH, owns the contracts). */
export const admin = createChainClients(chain, accounts.deployer);
export const testClient = createTestClient({ mode: 'anvil', chain, transport: http(rpcUrl) });
/** The local checker keys, sorted by address as the contracts want them. */
export const checkers = [...accounts.checkers].sort((a, b) =>
  BigInt(a.address) < BigInt(b.address) ? -1 : 1,
);
/** One ATH in wei. */
export const ATH = 10n ** 18n;

/** A fresh StakingRegistry with a 3-of-n checker quorum and 1000 ATH minimum stake. */
export async function deployStakingFixture(options: {
  unbondingDelay: bigint;
  playerBps?: number;
  finderBps?: number;
}): Promise<{ staking: StakingRef; set: CheckerSet }> {
  const set = {
    checkers: sortAddresses(checkers.map((c) => c.address)),
    quorum: 3,
    policyHash: qosPolicyHash(),
  };
  const d = await deployStakingChain(admin, {
    checkerSet: set,
    minStake: 1000n * ATH,
    timelockDelay: 600n,
    ...options,
  });
  return { staking: { address: d.staking as Address, chainId, token: d.token }, set };
}

/** The staking chain's latest block time. */
export async function chainNow(): Promise<bigint> {
  return (await admin.publicClient.getBlock()).timestamp;
}

/** ATH balance of `address` on `staking`'s token. */
export async function balanceOf(staking: StakingRef, address: Address): Promise<bigint> {
  return admin.publicClient.readContract({
    address: staking.token,
    abi: testATHAbi,
    functionName: 'balanceOf',
    args: [address],
  });
}

/** Mints `amount` test ATH to `to`. */
export async function mint(staking: StakingRef, to: Address, amount: bigint): Promise<void> {
  await sendTx(admin, { address: staking.token, abi: testATHAbi, functionName: 'mint', args: [to, amount] });
}

/** A fresh key with gas and `tokens` ATH, and its own clients. */
export async function fundedAccount(
  staking: StakingRef,
  tokens: bigint,
): Promise<{ account: LocalAccount; clients: ChainClients }> {
  const account = privateKeyToAccount(generatePrivateKey());
  await testClient.setBalance({ address: account.address, value: parseEther('1') });
  await mint(staking, account.address, tokens);
  return { account, clients: createChainClients(chain, account) };
}
