import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { EDGE_CONFIG_FILE_ENV, loadEdgeConfig } from '../../edge/config.js';
import { decryptKeystore } from '../../edge/operator/decryptKeystore.js';
import { encryptKeystore } from '../../edge/operator/encryptKeystore.js';
import { loadNodeKey } from '../../edge/operator/loadNodeKey.js';

describe('operator keystore', () => {
  it('round-trips a key through a v3 keystore that does not contain it in clear', () => {
    const key = generatePrivateKey();
    const keystore = encryptKeystore(key, 'correct horse battery', { n: 1024 });
    expect(keystore.version).toBe(3);
    expect(keystore.address).toBe(privateKeyToAddress(key).slice(2).toLowerCase());
    expect(JSON.stringify(keystore)).not.toContain(key.slice(2));
    expect(decryptKeystore(JSON.stringify(keystore), 'correct horse battery')).toBe(key);
  });

  it('refuses a wrong passphrase and a damaged file with their codes', () => {
    const keystore = encryptKeystore(generatePrivateKey(), 'correct horse battery', { n: 1024 });
    expect(() => decryptKeystore(keystore, 'wrong horse')).toThrow(
      expect.objectContaining({ code: 'OPERATOR_BAD_PASSPHRASE' }),
    );
    expect(() => decryptKeystore('{"version":3}', 'x')).toThrow(
      expect.objectContaining({ code: 'OPERATOR_BAD_KEYSTORE' }),
    );
  });

  it('the edge config file is read, env overrides it, and the node key comes from the keystore', () => {
    const dir = mkdtempSync(join(tmpdir(), 'farplay-op-'));
    const key = generatePrivateKey();
    writeFileSync(
      join(dir, 'node-key.json'),
      JSON.stringify(encryptKeystore(key, 'passphrase-1', { n: 1024 })),
    );
    writeFileSync(join(dir, 'pass'), 'passphrase-1\n');
    writeFileSync(
      join(dir, 'edge.json'),
      JSON.stringify({
        region: 'eu-west',
        capacity: 6,
        keystoreFile: 'node-key.json',
        keystorePassphraseFile: 'pass',
      }),
    );
    const config = loadEdgeConfig({
      [EDGE_CONFIG_FILE_ENV]: join(dir, 'edge.json'),
      FARPLAY_EDGE_CAPACITY: '3',
    });
    expect(config).toMatchObject({
      region: 'eu-west',
      capacity: 3,
      keystoreFile: join(dir, 'node-key.json'),
    });
    expect(loadNodeKey(config)).toBe(key);
    expect(() =>
      loadNodeKey({ keystoreFile: config.keystoreFile as string, keystorePassphrase: 'nope-nope' }),
    ).toThrow(expect.objectContaining({ code: 'OPERATOR_BAD_PASSPHRASE' }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ capacity: 'many' }));
    expect(() => loadEdgeConfig({ [EDGE_CONFIG_FILE_ENV]: join(dir, 'bad.json') })).toThrow(
      expect.objectContaining({ code: 'EDGE_BAD_CONFIG', message: expect.stringMatching(/capacity/) }),
    );
  });
});
