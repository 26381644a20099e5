import { createDecipheriv, scryptSync, timingSafeEqual } from 'node:crypto';
import { Value } from 'typebox/value';
import { type Hex, keccak256 } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { FarplayError } from '../../protocol/errors.js';
import { Keystore } from './Keystore.js';

/**
 * Decrypts a v3 keystore (object or JSON text) with `passphrase` into its private key. Throws
 * `OPERATOR_BAD_KEYSTORE` for a file that is not a v3 scrypt keystore and `OPERATOR_BAD_PASSPHRASE`
 * when the MAC does not match (wrong passphrase or a damaged file).
 */
export function decryptKeystore(keystore: unknown, passphrase: string): Hex {
  let value = keystore;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (cause) {
      throw new FarplayError('OPERATOR_BAD_KEYSTORE', 'the keystore is not JSON', { cause });
    }
  }
  if (!Value.Check(Keystore, value)) {
    const first = Value.Errors(Keystore, value)[0];
    throw new FarplayError(
      'OPERATOR_BAD_KEYSTORE',
      `the keystore is not a v3 scrypt/aes-128-ctr keystore (${first?.instancePath || '(root)'}: ${first?.message ?? 'invalid'})`,
    );
  }
  const { kdfparams, cipherparams, ciphertext, mac } = value.crypto;
  if (kdfparams.n > 1 << 20)
    throw new FarplayError('OPERATOR_BAD_KEYSTORE', 'the keystore scrypt cost is above 2^20');
  const derived = scryptSync(passphrase.normalize('NFKC'), Buffer.from(kdfparams.salt, 'hex'), 32, {
    N: kdfparams.n,
    r: kdfparams.r,
    p: kdfparams.p,
    maxmem: 256 * kdfparams.n * kdfparams.r + 1024 * 1024,
  });
  const cipherBytes = Buffer.from(ciphertext, 'hex');
  const expected = Buffer.from(
    keccak256(Buffer.concat([derived.subarray(16, 32), cipherBytes])).slice(2),
    'hex',
  );
  if (!timingSafeEqual(expected, Buffer.from(mac, 'hex'))) {
    throw new FarplayError('OPERATOR_BAD_PASSPHRASE');
  }
  const decipher = createDecipheriv(
    'aes-128-ctr',
    derived.subarray(0, 16),
    Buffer.from(cipherparams.iv, 'hex'),
  );
  const privateKey =
    `0x${Buffer.concat([decipher.update(cipherBytes), decipher.final()]).toString('hex')}` as Hex;
  if (privateKeyToAddress(privateKey).slice(2).toLowerCase() !== value.address) {
    throw new FarplayError('OPERATOR_BAD_KEYSTORE', 'the keystore address does not match its key');
  }
  return privateKey;
}
