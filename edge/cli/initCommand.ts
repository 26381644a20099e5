import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { FarplayError } from '../../protocol/errors.js';
import { parseEdgeConfig } from '../config.js';
import { encryptKeystore } from '../operator/encryptKeystore.js';
import type { CliContext } from './CliContext.js';
import { readNewPassphrase } from './readSecret.js';
import { defaultEdgeHome } from './resolveConfigFile.js';

/** `farplay-edge init`: writes the config file and two encrypted keys (node key, owner key); never prints a key. */
export async function initCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: context.args,
    options: {
      dir: { type: 'string' },
      matchmaker: { type: 'string' },
      'matchmaker-key': { type: 'string' },
      region: { type: 'string' },
      lat: { type: 'string' },
      lon: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'public-url': { type: 'string' },
      gpu: { type: 'string' },
      capacity: { type: 'string' },
      price: { type: 'string' },
      'staking-rpc': { type: 'string' },
      'staking-chain-id': { type: 'string' },
      'payments-rpc': { type: 'string' },
      'payments-chain-id': { type: 'string' },
      deployments: { type: 'string' },
      'passphrase-file': { type: 'string' },
      'scrypt-n': { type: 'string' },
    },
    strict: true,
  });
  const dir = resolve(values.dir ?? defaultEdgeHome(context.env));
  const configFile = join(dir, 'edge.json');
  const nodeKeyFile = join(dir, 'node-key.json');
  const ownerKeyFile = join(dir, 'owner-key.json');
  for (const file of [configFile, nodeKeyFile, ownerKeyFile]) {
    if (existsSync(file)) {
      throw new FarplayError(
        'OPERATOR_ALREADY_INITIALIZED',
        `${file} already exists; init never overwrites keys`,
      );
    }
  }
  const passphraseFile = values['passphrase-file'] ? resolve(values['passphrase-file']) : undefined;
  const passphrase = await readNewPassphrase({
    env: context.env,
    file: passphraseFile,
    stdin: context.stdin,
    stderr: context.stderr,
  });

  const nodeKey = generatePrivateKey();
  const ownerKey = generatePrivateKey();
  const edge = privateKeyToAddress(nodeKey);
  const owner = privateKeyToAddress(ownerKey);
  const fields: Record<string, unknown> = {
    matchmakerUrl: values.matchmaker,
    // The matchmaker's session-token key, pinned (needed for a remote plain-HTTP matchmaker).
    matchmakerPublicKey: values['matchmaker-key'],
    region: values.region,
    lat: values.lat,
    lon: values.lon,
    host: values.host,
    port: values.port,
    publicUrl: values['public-url'],
    gpu: values.gpu,
    capacity: values.capacity,
    pricePerMinute: values.price,
    stakingRpcUrl: values['staking-rpc'],
    stakingChainId: values['staking-chain-id'],
    paymentsRpcUrl: values['payments-rpc'],
    paymentsChainId: values['payments-chain-id'],
    deploymentsDir: values.deployments ? resolve(values.deployments) : undefined,
    keystoreFile: 'node-key.json',
    keystorePassphraseFile: passphraseFile,
    ownerAddress: owner,
    capabilityFile: 'capability.json',
    packageCacheDir: 'packages',
    spentTokensFile: 'spent-tokens',
    qosOutboxDir: 'qos-outbox',
  };
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) config[key] = value;
  // The same schema the edge reads at start: a bad flag stops here, naming the field.
  const parsed = parseEdgeConfig({ ...config, keystoreFile: nodeKeyFile });
  for (const key of Object.keys(config)) {
    if (
      key in parsed &&
      ![
        'keystoreFile',
        'keystorePassphraseFile',
        'capabilityFile',
        'packageCacheDir',
        'spentTokensFile',
        'qosOutboxDir',
      ].includes(key)
    ) {
      config[key] = (parsed as Record<string, unknown>)[key];
    }
  }

  const n = values['scrypt-n'] ? Number(values['scrypt-n']) : undefined;
  context.output.progress('encrypting the keys (scrypt)…');
  const nodeKeystore = encryptKeystore(nodeKey, passphrase, n ? { n } : {});
  const ownerKeystore = encryptKeystore(ownerKey, passphrase, n ? { n } : {});
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(nodeKeyFile, `${JSON.stringify(nodeKeystore, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(ownerKeyFile, `${JSON.stringify(ownerKeystore, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'wx' });

  const { output } = context;
  output.out(`✓ node key   ${edge} → ${nodeKeyFile}`);
  output.out('             encrypted; the edge signs with it and it is this edge’s id');
  output.out(`✓ owner key  ${owner} → ${ownerKeyFile}`);
  output.out(
    '             encrypted; it holds the stake: after `farplay-edge stake`, move this file offline',
  );
  output.out(`✓ config     ${configFile}`);
  output.out('Next:');
  output.out(`  farplay-edge doctor --config ${configFile}`);
  output.out(`  farplay-edge bench  --config ${configFile}`);
  output.out(`  farplay-edge stake  --config ${configFile} --owner-keystore ${ownerKeyFile}`);
  if (!passphraseFile) {
    output.out(
      'The edge needs the passphrase to start: set FARPLAY_EDGE_KEYSTORE_PASSPHRASE or keystorePassphraseFile.',
    );
  }
  return 0;
}
