import sha3 from 'js-sha3';

/**
 * keccak256 of `data` as bytes, through js-sha3: about 3x faster than viem's `keccak256` (@noble/hashes) on the
 * 32–256-byte inputs of EIP-712 hashing, which is most of a checker's hashing per report. Same value as viem's
 * (`test/unit/checker-qosHash.test.ts`).
 */
export function keccak256Bytes(data: Uint8Array): Uint8Array {
  return new Uint8Array(sha3.keccak256.arrayBuffer(data));
}
