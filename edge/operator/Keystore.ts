import Type, { type Static } from 'typebox';

/** A Web3 secret-storage v3 keystore (scrypt + AES-128-CTR, keccak MAC), as geth, MetaMask and Foundry read it. */
export const Keystore = Type.Object({
  version: Type.Literal(3),
  id: Type.String(),
  /** The key's address, lowercase hex without 0x. */
  address: Type.String({ pattern: '^[0-9a-f]{40}$' }),
  crypto: Type.Object({
    cipher: Type.Literal('aes-128-ctr'),
    cipherparams: Type.Object({ iv: Type.String({ pattern: '^[0-9a-f]{32}$' }) }),
    ciphertext: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    kdf: Type.Literal('scrypt'),
    kdfparams: Type.Object({
      dklen: Type.Literal(32),
      n: Type.Integer({ minimum: 2 }),
      r: Type.Integer({ minimum: 1 }),
      p: Type.Integer({ minimum: 1 }),
      salt: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    }),
    mac: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  }),
});
export type Keystore = Static<typeof Keystore>;

/** scrypt cost used for new keystores (2^17: about 0.5 s and 128 MiB; geth's "standard" is 2^18). */
export const KEYSTORE_SCRYPT_N = 1 << 17;
