import { readFileSync } from 'node:fs';
import type { Hex } from 'viem';
import { FarplayError } from '../../protocol/errors.js';
import type { EdgeConfig } from '../config.js';
import { decryptKeystore } from './decryptKeystore.js';

/** The keystore passphrase: `keystorePassphrase`, else the first line of `keystorePassphraseFile`. */
export function readPassphrase(
  config: Pick<EdgeConfig, 'keystorePassphrase' | 'keystorePassphraseFile'>,
): string {
  if (config.keystorePassphrase) return config.keystorePassphrase;
  if (config.keystorePassphraseFile) {
    let text: string;
    try {
      text = readFileSync(config.keystorePassphraseFile, 'utf8');
    } catch (cause) {
      throw new FarplayError(
        'OPERATOR_NO_PASSPHRASE',
        `the passphrase file ${config.keystorePassphraseFile} cannot be read`,
        { cause },
      );
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line !== '') return line;
  }
  throw new FarplayError('OPERATOR_NO_PASSPHRASE');
}

/**
 * The node's private key: `nodePrivateKey` when given, else `keystoreFile` decrypted with its passphrase;
 * undefined when neither is configured.
 */
export function loadNodeKey(
  config: Pick<
    EdgeConfig,
    'nodePrivateKey' | 'keystoreFile' | 'keystorePassphrase' | 'keystorePassphraseFile'
  >,
): Hex | undefined {
  if (config.nodePrivateKey) return config.nodePrivateKey as Hex;
  if (!config.keystoreFile) return undefined;
  let text: string;
  try {
    text = readFileSync(config.keystoreFile, 'utf8');
  } catch (cause) {
    throw new FarplayError('OPERATOR_BAD_KEYSTORE', `the keystore ${config.keystoreFile} cannot be read`, {
      cause,
    });
  }
  return decryptKeystore(text, readPassphrase(config));
}
