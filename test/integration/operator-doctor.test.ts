import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestClient, http, parseEther } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployStakingChain } from '../../contracts-client/src/deploy.js';
import { writeDeployment } from '../../contracts-client/src/deployment.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import { registerEdge } from '../../contracts-client/src/staking.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import { decryptKeystore } from '../../edge/operator/decryptKeystore.js';
import { type RunningMatchmaker, startMatchmaker } from '../../matchmaker/startMatchmaker.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';
import { freePort } from '../support/freePort.js';
import { runCli } from './operator-support.js';

const rpcUrl = inject('stakingRpcUrl');
const chainId = inject('stakingChainId');
const chain = localChain(chainId, rpcUrl);
const accounts = localAccounts();
const PASSPHRASE = 'operator test passphrase';

let matchmaker: RunningMatchmaker;
let dir: string;
let configFile: string;
let deploymentsDir: string;
let stakingToken: `0x${string}`;
let stakingAddress: `0x${string}`;

beforeAll(async () => {
  deploymentsDir = mkdtempSync(join(tmpdir(), 'farplay-op-deploy-'));
  const deployer = createChainClients(chain, accounts.deployer);
  const deployment = await deployStakingChain(deployer, {
    checkerSet: {
      checkers: sortAddresses(accounts.checkers.map((c) => c.address)),
      quorum: 3,
      policyHash: qosPolicyHash(),
    },
    timelockDelay: 60n,
  });
  writeDeployment(deployment, deploymentsDir);
  stakingToken = deployment.token;
  stakingAddress = deployment.staking as `0x${string}`;
  matchmaker = await startMatchmaker({ port: 0, logLevel: 'silent' });
  dir = join(mkdtempSync(join(tmpdir(), 'farplay-op-')), 'edge');
  const init = await runCli(
    [
      'init',
      '--dir',
      dir,
      '--matchmaker',
      matchmaker.url,
      '--region',
      'eu-west',
      '--staking-rpc',
      rpcUrl,
      '--staking-chain-id',
      String(chainId),
      '--deployments',
      deploymentsDir,
      '--scrypt-n',
      '1024',
    ],
    { FARPLAY_EDGE_KEYSTORE_PASSPHRASE: PASSPHRASE },
  );
  expect(init.errors).toEqual([]);
  expect(init.code).toBe(0);
  configFile = join(dir, 'edge.json');
});

afterAll(async () => {
  await matchmaker?.close();
});

describe('farplay-edge init', () => {
  it('writes a config and two encrypted keys, printing addresses but never a key', async () => {
    const nodeKeystore = readFileSync(join(dir, 'node-key.json'), 'utf8');
    const ownerKeystore = readFileSync(join(dir, 'owner-key.json'), 'utf8');
    const nodeKey = decryptKeystore(nodeKeystore, PASSPHRASE);
    const ownerKey = decryptKeystore(ownerKeystore, PASSPHRASE);
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      matchmakerUrl: matchmaker.url,
      region: 'eu-west',
      keystoreFile: 'node-key.json',
      ownerAddress: privateKeyToAccount(ownerKey).address,
    });
    expect(JSON.stringify(config)).not.toContain(nodeKey.slice(2));
    // Running it again never overwrites keys.
    const again = await runCli(['init', '--dir', dir], { FARPLAY_EDGE_KEYSTORE_PASSPHRASE: PASSPHRASE });
    expect(again.code).toBe(1);
    expect(again.errors[0]).toMatch(/already exists.*\[OPERATOR_ALREADY_INITIALIZED\]$/);
    expect(readFileSync(join(dir, 'node-key.json'), 'utf8')).toBe(nodeKeystore);
  });

  it('refuses to make keys without a passphrase', async () => {
    const run = await runCli(['init', '--dir', join(dir, '..', 'other')]);
    expect(run.code).toBe(1);
    expect(run.errors[0]).toMatch(/FARPLAY_EDGE_KEYSTORE_PASSPHRASE.*\[OPERATOR_NO_PASSPHRASE\]/);
  });
});

describe('farplay-edge doctor', () => {
  const env = { FARPLAY_EDGE_KEYSTORE_PASSPHRASE: PASSPHRASE };

  it('checks the machine, the matchmaker, UDP and the chain, and says how to stake', async () => {
    const run = await runCli(['doctor', '--config', configFile, '--min-free-gb', '0.1'], env);
    const text = run.lines.join('\n');
    expect(text).toMatch(/^✓ Node \d+\.\d+\.\d+/m);
    expect(text).toMatch(/^✓ H\.264 encoder libx264 opened and encoded a frame/m);
    // Without a GPU driver (CI), NVENC fails with its real reason and a fix, and it is optional.
    if (!text.includes('✓ H.264 encoder h264_nvenc'))
      expect(text).toMatch(
        /^✗ H\.264 encoder h264_nvenc: no NVIDIA driver \(libcuda\.so\.1 \/ libnvidia-encode\.so\.1 cannot be loaded\) \(optional\)\n {4}fix: install the NVIDIA driver/m,
      );
    expect(text).toMatch(/^✓ node key 0x[0-9a-fA-F]{40} \(keystore decrypts\)$/m);
    expect(text).toContain(`✓ matchmaker ${matchmaker.url} answers`);
    expect(text).toMatch(/^✓ clock offset -?\d+ ms against the matchmaker/m);
    expect(text).toMatch(/^✓ UDP from outside reaches this machine \(the matchmaker saw 127\.0\.0\.1:\d+/m);
    expect(text).toMatch(
      new RegExp(
        `^✗ edge 0x[0-9a-fA-F]{40} is not registered on staking chain ${chainId} \\(owner 0x[0-9a-fA-F]{40} holds 0 ATH\\)\\n {4}fix: stake at least 1000 ATH from the owner key: farplay-edge stake`,
        'm',
      ),
    );
    expect(run.lines.at(-1)).toMatch(/^not ready: \d+ required checks? failed$/);
    expect(run.code).toBe(1);
  });

  it('names a missing Xvfb and an unreachable matchmaker, each with its fix (env overrides the file)', async () => {
    const closedPort = await freePort();
    const run = await runCli(['doctor', '--config', configFile], {
      ...env,
      PATH: '/nonexistent',
      FARPLAY_EDGE_MATCHMAKER_URL: `http://127.0.0.1:${closedPort}`,
    });
    const text = run.lines.join('\n');
    expect(text).toContain(
      '✗ Xvfb (virtual display for native games): Xvfb not found on PATH\n    fix: apt-get install xvfb',
    );
    expect(text).toMatch(
      new RegExp(
        `^✗ matchmaker http://127\\.0\\.0\\.1:${closedPort} is unreachable \\(.+\\)\\n {4}fix: check matchmakerUrl`,
        'm',
      ),
    );
    expect(run.code).toBe(1);
  });

  it('a wrong passphrase is one line with its code and fix', async () => {
    const run = await runCli(['doctor', '--config', configFile], {
      FARPLAY_EDGE_KEYSTORE_PASSPHRASE: 'wrong one!',
    });
    expect(run.lines.join('\n')).toMatch(
      /^✗ node key: .+\[OPERATOR_BAD_PASSPHRASE\]\n {4}fix: set FARPLAY_EDGE_KEYSTORE_PASSPHRASE/m,
    );
  });

  it('shows the stake once the owner key has registered the edge on chain', async () => {
    const owner = privateKeyToAccount(
      decryptKeystore(readFileSync(join(dir, 'owner-key.json'), 'utf8'), PASSPHRASE),
    );
    const node = privateKeyToAccount(
      decryptKeystore(readFileSync(join(dir, 'node-key.json'), 'utf8'), PASSPHRASE),
    );
    const testClient = createTestClient({ mode: 'anvil', chain, transport: http(rpcUrl) });
    await testClient.setBalance({ address: owner.address, value: parseEther('10') });
    const deployer = createChainClients(chain, accounts.deployer);
    await sendTx(deployer, {
      address: stakingToken,
      abi: testATHAbi,
      functionName: 'mint',
      args: [owner.address, parseEther('1000')],
    });
    await registerEdge(
      createChainClients(chain, owner),
      { address: stakingAddress, chainId, token: stakingToken },
      { edge: node, cutBps: 1000, amount: parseEther('1000') },
    );
    const run = await runCli(['doctor', '--config', configFile, '--min-free-gb', '0.1'], env);
    expect(run.lines.join('\n')).toContain(
      `✓ edge ${node.address} is registered on chain ${chainId} by ${owner.address}, stake 1000 ATH (minimum 1000 ATH)`,
    );
  });
});

describe('the edge process', () => {
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('starts from the config file and its encrypted keystore, and registers with the matchmaker', async () => {
    const node = privateKeyToAccount(
      decryptKeystore(readFileSync(join(dir, 'node-key.json'), 'utf8'), PASSPHRASE),
    );
    const main = fileURLToPath(new URL('../../edge/main.ts', import.meta.url));
    child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: {
        ...process.env,
        FARPLAY_EDGE_CONFIG_FILE: configFile,
        FARPLAY_EDGE_KEYSTORE_PASSPHRASE: PASSPHRASE,
        FARPLAY_EDGE_PORT: '0',
        FARPLAY_EDGE_ENCODERS: '["libx264"]',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.setEncoding('utf8');
    let log = '';
    await new Promise<void>((resolve, reject) => {
      child?.once('exit', (code) => reject(new Error(`edge exited with ${code}: ${log}`)));
      child?.stdout?.on('data', (chunk: string) => {
        log += chunk;
        if (log.includes('registered with the matchmaker')) resolve();
      });
    });
    // The matchmaker's edge view refreshes from its store every refreshMs.
    await vi.waitFor(
      async () => {
        const edges = (await (await fetch(`${matchmaker.url}/v1/edges`)).json()) as {
          edges: Array<{ edgeId: string; region: string }>;
        };
        expect(edges.edges).toContainEqual(
          expect.objectContaining({ edgeId: node.address.toLowerCase(), region: 'eu-west' }),
        );
      },
      { timeout: 10_000, interval: 100 },
    );
  });
});
