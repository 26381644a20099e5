import type {
  Abi,
  Account,
  Address,
  Chain,
  ContractFunctionArgs,
  ContractFunctionName,
  Hex,
  PublicClient,
  TransactionReceipt,
  Transport,
  WalletClient,
} from 'viem';
import { parseSignature, signatureToCompactSignature } from 'viem';
import { FarplayError } from '../../protocol/errors.js';
import { testATHAbi } from './abis/TestATH.js';
import { toChainError } from './chainErrors.js';

/** A chain to talk to: a public client for reads and a wallet client (with its account) for writes. */
export interface ChainClients {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain, Account>;
}

/** An EIP-2098 compact signature as the contracts take it. */
export interface Sig {
  r: Hex;
  vs: Hex;
}

/** secp256k1n / 2: an ECDSA signature with a larger s is the malleable twin, which the contracts refuse. */
export const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** True when `signature` is 65 bytes with s in the lower half (the only form the contracts accept). */
export function isCanonicalSignature(signature: Hex): boolean {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  return s > 0n && s <= SECP256K1_HALF_N;
}

/**
 * Converts a 65-byte signature to the contracts' compact (r, vs) form. A malformed or high-s signature (which the
 * contracts refuse, and which the compact form cannot even carry) throws CHAIN_MALFORMED_SIGNATURE.
 */
export function toSig(signature: Hex): Sig {
  if (!isCanonicalSignature(signature)) {
    throw new FarplayError('CHAIN_MALFORMED_SIGNATURE', undefined, { details: { signature } });
  }
  let compact: ReturnType<typeof signatureToCompactSignature>;
  try {
    compact = signatureToCompactSignature(parseSignature(signature));
  } catch (error) {
    throw new FarplayError('CHAIN_MALFORMED_SIGNATURE', undefined, { details: { signature }, cause: error });
  }
  return { r: compact.r, vs: compact.yParityAndS };
}

/**
 * Sends one contract call and waits for its receipt. Reverts (estimated before sending) become FarplayError
 * with a CHAIN_* code; a mined but failed transaction becomes CHAIN_REVERTED.
 */
export async function sendTx<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  clients: ChainClients,
  call: {
    address: Address;
    abi: abi;
    functionName: functionName;
    args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>;
  },
): Promise<TransactionReceipt> {
  let hash: Hex;
  try {
    // biome-ignore lint/suspicious/noExplicitAny: viem's writeContract generics do not narrow through this wrapper
    hash = await clients.walletClient.writeContract(call as any);
  } catch (error) {
    throw toChainError(error);
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  } catch (error) {
    throw toChainError(error);
  }
  if (receipt.status !== 'success') {
    throw new FarplayError('CHAIN_REVERTED', `transaction ${hash} reverted`, { details: { hash } });
  }
  return receipt;
}

/** Lets `spender` take `amount` ATH wei of `token` from the wallet of `clients` (ERC-20 approve). */
export function approveToken(clients: ChainClients, token: Address, spender: Address, amount: bigint) {
  return sendTx(clients, {
    address: token,
    abi: testATHAbi,
    functionName: 'approve',
    args: [spender, amount],
  });
}
