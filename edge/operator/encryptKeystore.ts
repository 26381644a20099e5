import { createCipheriv, randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { type Hex, keccak256 } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { KEYSTORE_SCRYPT_N, type Keystore } from './Keystore.js';

/** Options for `encryptKeystore`. */
export interface EncryptKeystoreOptions {
  /** scrypt cost (default KEYSTORE_SCRYPT_N, 2^17); tests pass a small one. */
  n?: number;
}

/** Encrypts a secp256k1 private key into a v3 keystore with `passphrase` (scrypt, AES-128-CTR, keccak MAC). */
export function encryptKeystore(
  privateKey: Hex,
  passphrase: string,
  options: EncryptKeystoreOptions = {},
): Keystore {
  const n = options.n ?? KEYSTORE_SCRYPT_N;
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const derived = scryptSync(passphrase.normalize('NFKC'), salt, 32, {
    N: n,
    r: 8,
    p: 1,
    maxmem: 256 * n * 8 + 1024 * 1024,
  });
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()]);
  const mac = keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext])).slice(2);
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: ciphertext.toString('hex'),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n, r: 8, p: 1, salt: salt.toString('hex') },
      mac,
    },
  };
}
