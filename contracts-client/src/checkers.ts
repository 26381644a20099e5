import { type Address, encodeFunctionData, type Hex, type PublicClient, zeroHash } from 'viem';
import { checkerRegistryAbi } from './abis/CheckerRegistry.js';
import { sessionEscrowAbi } from './abis/SessionEscrow.js';
import { stakingRegistryAbi } from './abis/StakingRegistry.js';
import { timelockControllerAbi } from './abis/TimelockController.js';
import { type ChainClients, sendTx } from './tx.js';

/** The checker set as the contracts verify it: checkers ascending, quorum k, QoS policy hash. */
export interface CheckerSet {
  checkers: readonly Address[];
  quorum: number;
  policyHash: Hex;
}

/** Reads the registry's current checker set. */
export async function readCheckerSet(publicClient: PublicClient, registry: Address): Promise<CheckerSet> {
  const [checkers, quorum, policyHash] = await Promise.all([
    publicClient.readContract({ address: registry, abi: checkerRegistryAbi, functionName: 'checkers' }),
    publicClient.readContract({ address: registry, abi: checkerRegistryAbi, functionName: 'quorum' }),
    publicClient.readContract({ address: registry, abi: checkerRegistryAbi, functionName: 'policyHash' }),
  ]);
  return { checkers, quorum: Number(quorum), policyHash };
}

/** A registered checker and the base URL it published in the CheckerRegistry ("" when none). */
export interface CheckerEndpoint {
  checker: Address;
  endpoint: string;
}

/** Reads the registry's current checkers with their published endpoints (one call, `endpoints()`). */
export async function readCheckerEndpoints(
  publicClient: PublicClient,
  registry: Address,
): Promise<CheckerEndpoint[]> {
  const [list, urls] = await publicClient.readContract({
    address: registry,
    abi: checkerRegistryAbi,
    functionName: 'endpoints',
  });
  return list.map((checker, i) => ({ checker, endpoint: urls[i] ?? '' }));
}

/** The CheckerRegistry a StakingRegistry verifies its checker quorums against. */
export function checkerRegistryOf(publicClient: PublicClient, staking: Address): Promise<Address> {
  return publicClient.readContract({
    address: staking,
    abi: stakingRegistryAbi,
    functionName: 'checkerRegistry',
  });
}

/** Publishes the sending checker's endpoint (base URL of its HTTP API) in the registry; "" clears it. */
export function publishCheckerEndpoint(clients: ChainClients, registry: Address, endpoint: string) {
  return sendTx(clients, {
    address: registry,
    abi: checkerRegistryAbi,
    functionName: 'setEndpoint',
    args: [endpoint],
  });
}

/** Addresses sorted ascending, as the registry requires. */
export function sortAddresses(addresses: readonly Address[]): Address[] {
  return [...addresses].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}

/**
 * A change to the checker registry, to go through the timelock. `setFee` targets the escrow (the payments chain's
 * checker config, i.e. its deployment's `checkerRegistry`).
 */
export type CheckerChange =
  | { kind: 'setConfig'; set: CheckerSet }
  | { kind: 'addChecker'; checker: Address }
  | { kind: 'removeChecker'; checker: Address }
  | { kind: 'setFee'; feeBps: number; treasury: Address };

function encodeChange(change: CheckerChange): Hex {
  switch (change.kind) {
    case 'setConfig':
      return encodeFunctionData({
        abi: checkerRegistryAbi,
        functionName: 'setConfig',
        args: [sortAddresses(change.set.checkers), BigInt(change.set.quorum), change.set.policyHash],
      });
    case 'addChecker':
      return encodeFunctionData({
        abi: checkerRegistryAbi,
        functionName: 'addChecker',
        args: [change.checker],
      });
    case 'removeChecker':
      return encodeFunctionData({
        abi: checkerRegistryAbi,
        functionName: 'removeChecker',
        args: [change.checker],
      });
    case 'setFee':
      return encodeFunctionData({
        abi: sessionEscrowAbi,
        functionName: 'setFee',
        args: [change.feeBps, change.treasury],
      });
  }
}

export interface TimelockedChange {
  timelock: Address;
  registry: Address;
  change: CheckerChange;
  /** Distinguishes otherwise identical operations; default zero. */
  salt?: Hex;
}

/** Queues a checker change in the timelock (caller needs the proposer role); executable after the delay. */
export async function scheduleCheckerChange(clients: ChainClients, p: TimelockedChange) {
  const delay = await clients.publicClient.readContract({
    address: p.timelock,
    abi: timelockControllerAbi,
    functionName: 'getMinDelay',
  });
  return sendTx(clients, {
    address: p.timelock,
    abi: timelockControllerAbi,
    functionName: 'schedule',
    args: [p.registry, 0n, encodeChange(p.change), zeroHash, p.salt ?? zeroHash, delay],
  });
}

/** Executes a queued checker change once its delay has passed (caller needs the executor role). */
export function executeCheckerChange(clients: ChainClients, p: TimelockedChange) {
  return sendTx(clients, {
    address: p.timelock,
    abi: timelockControllerAbi,
    functionName: 'execute',
    args: [p.registry, 0n, encodeChange(p.change), zeroHash, p.salt ?? zeroHash],
  });
}

/** Cancels a queued change before it executes (caller needs the canceller role). */
export async function cancelCheckerChange(clients: ChainClients, p: TimelockedChange) {
  const id = await clients.publicClient.readContract({
    address: p.timelock,
    abi: timelockControllerAbi,
    functionName: 'hashOperation',
    args: [p.registry, 0n, encodeChange(p.change), zeroHash, p.salt ?? zeroHash],
  });
  return sendTx(clients, {
    address: p.timelock,
    abi: timelockControllerAbi,
    functionName: 'cancel',
    args: [id],
  });
}
