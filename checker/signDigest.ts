import secp256k1 from 'secp256k1';
import { bytesToHex, type Hex } from 'viem';

/**
 * Signs a 32-byte digest with `privateKey` (libsecp256k1, RFC 6979 deterministic: the same digest always gets the
 * same signature) and returns r ‖ s ‖ v with v 27/28, low s — the form viem and the contracts use.
 */
export function signDigest(privateKey: Uint8Array, digest: Uint8Array): Hex {
  const { signature, recid } = secp256k1.ecdsaSign(digest, privateKey);
  const out = new Uint8Array(65);
  out.set(signature, 0);
  out[64] = 27 + recid;
  return bytesToHex(out);
}
