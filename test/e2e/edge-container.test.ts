import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { erc20Abi } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localChain } from '../../contracts-client/src/chains.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { type LocalChains, startLocalChains } from '../../contracts-client/src/localChain.js';
import { decryptKeystore } from '../../edge/operator/decryptKeystore.js';
import { type RunningMatchmaker, startMatchmaker } from '../../matchmaker/startMatchmaker.js';
import { playerTestDistDir } from '../../scripts/buildPlayer.js';
import { type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { composeUnsupportedReason, type DockerEngine, ensureDockerEngine } from '../support/dockerEngine.js';
import { freePort } from '../support/freePort.js';
import { readHook, until } from '../support/playerPage.js';

// A fresh machine image of the edge: a container from the compose image (Debian, Node, the checkout; no Xvfb)
// goes `farplay-edge init` → `doctor` → `bench` → `stake` → `register` → `run` against local chains and a
// matchmaker on this host (host network), and a player plays on it in Chromium. doctor names the missing Xvfb,
// an unreachable matchmaker and the unstaked key, each with its fix; register after stake sends nothing.

const root = fileURLToPath(new URL('../..', import.meta.url));
const logDir = join(root, '.farplay', 'edge-container-e2e');
const PASSPHRASE = 'container edge passphrase';
const container = 'farplay-edge-e2e';
const unsupported = composeUnsupportedReason();

interface CliRun {
  code: number;
  text: string;
}

describe.skipIf(unsupported !== undefined)(
  `an edge from a fresh container${unsupported ? ` (skipped: ${unsupported})` : ''}`,
  () => {
    let engine: DockerEngine | undefined;
    let chains: LocalChains | undefined;
    let matchmaker: RunningMatchmaker | undefined;
    let browser: LaunchedChromium | undefined;
    let data: string;
    let deployments: string;
    let edgePort: number;

    /** `farplay-edge <args>` in a fresh container of the image (host network, the edge's folder at /data). */
    // Asynchronous on purpose: the matchmaker runs in this process and must keep answering the container.
    async function farplayEdge(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
      const child = spawn(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'host',
          '-v',
          `${data}:/data`,
          '-v',
          `${deployments}:/deployments:ro`,
          '-e',
          `FARPLAY_EDGE_KEYSTORE_PASSPHRASE=${PASSPHRASE}`,
          ...Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
          'farplay:dev',
          'node',
          'edge/cli/farplay-edge.mjs',
          ...args,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      const [code] = (await once(child, 'exit')) as [number | null];
      return { code: code ?? -1, text };
    }

    beforeAll(async () => {
      mkdirSync(logDir, { recursive: true });
      engine = await ensureDockerEngine(logDir);
      const out = openSync(join(logDir, 'build.log'), 'a');
      const build = spawn('sh', ['scripts/compose-build.sh'], { cwd: root, stdio: ['ignore', out, out] });
      const [code] = (await once(build, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`compose-build.sh exited with ${code} (see ${logDir}/build.log)`);
      deployments = mkdtempSync(join(tmpdir(), 'farplay-container-deploy-'));
      data = mkdtempSync(join(tmpdir(), 'farplay-container-edge-'));
      chains = await startLocalChains({ deploymentsDir: deployments });
      matchmaker = await startMatchmaker(
        { host: '127.0.0.1', port: 0, logLevel: 'silent', staticDir: playerTestDistDir },
        pino({ level: 'silent' }),
      );
      edgePort = await freePort();
      browser = await launchChromium();
    }, 3_600_000);

    afterAll(async () => {
      spawnSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
      await browser?.close();
      await matchmaker?.close();
      await chains?.close();
      await engine?.close();
    }, 120_000);

    it('init → doctor → bench → stake → register → run, and a player plays on it', async () => {
      const local = chains as LocalChains;
      const mm = matchmaker as RunningMatchmaker;
      const init = await farplayEdge([
        'init',
        '--dir',
        '/data',
        '--matchmaker',
        mm.url,
        '--region',
        'eu-west',
        '--lat=48.86',
        '--lon=2.35',
        '--host',
        '127.0.0.1',
        '--port',
        String(edgePort),
        '--staking-rpc',
        local.staking.rpcUrl,
        '--staking-chain-id',
        String(local.staking.chainId),
        '--deployments',
        '/deployments',
        '--scrypt-n',
        '1024',
      ]);
      expect(init.text).toMatch(/^✓ node key {3}0x[0-9a-fA-F]{40} → \/data\/node-key\.json$/m);
      expect(init.code).toBe(0);
      const config = ['--config', '/data/edge.json'];

      // The image has no Xvfb, the key is not staked yet: doctor says both, each with its fix.
      const doctor = await farplayEdge(['doctor', ...config, '--min-free-gb', '0.1']);
      expect(doctor.text).toContain(
        '✗ Xvfb (virtual display for native games): Xvfb not found on PATH\n    fix: apt-get install xvfb',
      );
      expect(doctor.text).toMatch(
        /^✗ edge 0x[0-9a-fA-F]{40} is not registered on staking chain \d+ \(owner 0x[0-9a-fA-F]{40} holds 0 ATH\)\n {4}fix: stake at least 1000 ATH/m,
      );
      expect(doctor.text).toContain(`✓ matchmaker ${mm.url} answers`);
      expect(doctor.code).toBe(1);
      const closedPort = await freePort();
      const unreachable = await farplayEdge(['doctor', ...config], {
        FARPLAY_EDGE_MATCHMAKER_URL: `http://127.0.0.1:${closedPort}`,
      });
      expect(unreachable.text).toMatch(
        new RegExp(
          `^✗ matchmaker http://127\\.0\\.0\\.1:${closedPort} is unreachable \\(.+\\)\\n {4}fix: `,
          'm',
        ),
      );

      const bench = await farplayEdge([
        'bench',
        ...config,
        '--start',
        '1',
        '--max',
        '1',
        '--window',
        '3',
        '--warmup',
        '1',
      ]);
      expect(bench.code, bench.text).toBe(0);
      const capability = JSON.parse(readFileSync(join(data, 'capability.json'), 'utf8')) as {
        payload: { sessions: number };
      };
      expect(capability.payload.sessions).toBe(1);

      const owner = ['--owner-keystore', '/data/owner-key.json'];
      const stake = await farplayEdge(['stake', ...config, ...owner, '--local-faucet']);
      expect(stake.text).toMatch(/^✓ confirmed: edge 0x[0-9a-fA-F]{40} is active with 1000 ATH staked/m);
      const ownerAddress = privateKeyToAccount(
        decryptKeystore(readFileSync(join(data, 'owner-key.json'), 'utf8'), PASSPHRASE),
      ).address;
      const client = createChainClients(
        localChain(local.staking.chainId, local.staking.rpcUrl),
        local.accounts.deployer,
      ).publicClient;
      const balance = () =>
        client.readContract({
          address: local.staking.deployment.token,
          abi: erc20Abi,
          functionName: 'balanceOf',
          args: [ownerAddress],
        });
      const before = await balance();
      const register = await farplayEdge(['register', ...config, ...owner]);
      expect(register.text).toMatch(/already registered by 0x[0-9a-fA-F]{40} with 1000 ATH: nothing to send/);
      expect(register.code).toBe(0);
      expect(await balance()).toBe(before);

      const started = spawnSync(
        'docker',
        [
          'run',
          '-d',
          '--name',
          container,
          '--network',
          'host',
          '-v',
          `${data}:/data`,
          '-v',
          `${deployments}:/deployments:ro`,
          '-e',
          `FARPLAY_EDGE_KEYSTORE_PASSPHRASE=${PASSPHRASE}`,
          'farplay:dev',
          'node',
          'edge/cli/farplay-edge.mjs',
          'run',
          ...config,
        ],
        { encoding: 'utf8' },
      );
      expect(started.status, started.stderr).toBe(0);
      await until(
        async () => ((await (await fetch(`${mm.url}/v1/edges`)).json()) as { edges: unknown[] }).edges.length,
        (count) => count === 1,
        { timeoutMs: 120_000, what: 'the container edge to register' },
      );

      const page = await (browser as LaunchedChromium).context.newPage();
      await page.goto(`${mm.url}/`);
      await page.click('.game-card[data-game-id="breakout"]');
      await until(
        () => readHook(page, 'state'),
        (state) => state === 'playing' || state === 'error' || state === 'dropped',
        { timeoutMs: 60_000, what: 'the stream from the container edge' },
      );
      expect(await readHook(page, 'state')).toBe('playing');
      await page.close();
    });
  },
);
