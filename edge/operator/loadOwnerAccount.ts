import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PrivateKeyAccount } from 'viem/accounts';
import { privateKeyToAccount } from 'viem/accounts';
import { FarplayError } from '../../protocol/errors.js';
import type { EdgeConfig } from '../config.js';
import { decryptKeystore } from './decryptKeystore.js';
import { readPassphrase } from './loadNodeKey.js';

/** The owner key (it holds the stake) from its keystore, decrypted with the edge's passphrase. */
export function loadOwnerAccount(
  file: string | undefined,
  config: Pick<EdgeConfig, 'keystorePassphrase' | 'keystorePassphraseFile'>,
): PrivateKeyAccount {
  const ownerFile = resolve(file ?? 'owner-key.json');
  let text: string;
  try {
    text = readFileSync(ownerFile, 'utf8');
  } catch (cause) {
    throw new FarplayError(
      'OPERATOR_BAD_KEYSTORE',
      `the owner keystore ${ownerFile} cannot be read (pass --owner-keystore)`,
      { cause },
    );
  }
  return privateKeyToAccount(decryptKeystore(text, readPassphrase(config)));
}
