// `npm start`: runs a whole Farplay network locally with embedded defaults — no external services.
//
//   - two local chains (anvil from npm: staking + payments), contracts deployed, a demo player funded
//     and the demo edge staked;
//   - the matchmaker (in-process store) serving the player page and the API;
//   - two edges in distinct regions and coordinates, registering and heartbeating with signed
//     messages, verifying the matchmaker's session tokens offline.
//
// The player bundle is built first when missing or stale.
//
// Flags:
//   --port N       matchmaker port (default FARPLAY_MM_PORT or 8080; 0 = any free port)
//   --build        always rebuild the player bundle
//   --no-chain     skip the local chains (streaming and matchmaking do not need them yet)
//   --standalone   one edge alone, minting its own tokens (FARPLAY_EDGE_* variables apply)
// Every FARPLAY_MM_* variable of matchmaker/config.ts applies (e.g. FARPLAY_MM_REDIS_URL to use Redis).
import { type Logger, pino } from 'pino';
import Type from 'typebox';
import { privateKeyToAccount } from 'viem/accounts';
import { startLocalChains } from '../contracts-client/src/localChain.js';
import { loadEdgeConfig, parseEdgeConfig } from '../edge/config.js';
import { startEdgeControl } from '../edge/control/startEdgeControl.js';
import { createEdge } from '../edge/createEdge.js';
import type { Edge } from '../edge/Edge.js';
import { parseMatchmakerConfig } from '../matchmaker/config.js';
import { startMatchmaker } from '../matchmaker/startMatchmaker.js';
import { findError } from '../protocol/errors.js';
import { defineConfig, LogLevel } from '../protocol/loadConfig.js';
import { LOG_REDACT_PATHS } from '../protocol/logRedactions.js';
import { ensurePlayerBuilt } from './buildPlayer.js';

/** The two local edges: distinct regions and coordinates, so allocation has a real choice. */
const LOCAL_EDGES = [
  { region: 'eu-west', lat: 48.86, lon: 2.35, key: 1 },
  { region: 'us-east', lat: 40.71, lon: -74.01, key: 2 },
] as const;

/** Demo price: 0.001 ATH per minute, in wei. */
const DEMO_PRICE_PER_MINUTE = '1000000000000000';

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : (process.argv[index + 1] ?? '');
}

type Closer = () => Promise<void>;

/** `npm start`'s own settings (FARPLAY_LOG_LEVEL); each part's FARPLAY_MM_* / FARPLAY_EDGE_* apply as well. */
const startConfig = defineConfig({
  schema: Type.Object({ logLevel: LogLevel }),
  envPrefix: 'FARPLAY_',
  errorCode: 'BAD_REQUEST',
  label: 'npm start',
});

async function main(): Promise<void> {
  const started = Date.now();
  const { dir, built } = await ensurePlayerBuilt({ force: process.argv.includes('--build') });
  if (built) console.log(`Built the player into ${dir} (${Date.now() - started} ms)`);

  const closers: Closer[] = [];
  const logger = pino({
    level: startConfig.fromEnv(process.env).logLevel,
    redact: [...LOG_REDACT_PATHS],
  });
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  try {
    if (process.argv.includes('--standalone')) await startStandalone(dir, logger, closers);
    else await startNetwork(dir, logger, closers);
  } catch (error) {
    const known = findError(error);
    console.error(`Farplay failed to start: ${known ? `${known.code}: ${known.message}` : String(error)}`);
    if (!known && error instanceof Error && error.stack) console.error(error.stack);
    await stop(1);
  }
}

async function startNetwork(staticDir: string, logger: Logger, closers: Closer[]): Promise<void> {
  let chainLine = '  Chains: skipped (--no-chain).';
  let chainKeys: readonly `0x${string}`[] = [];
  if (!process.argv.includes('--no-chain')) {
    const chains = await startLocalChains({ deploymentsDir: '.farplay/deployments' });
    closers.push(() => chains.close());
    chainKeys = [chains.privateKeys.edge];
    chainLine =
      `  Chains: staking ${chains.staking.rpcUrl} (id ${chains.staking.chainId}), ` +
      `payments ${chains.payments.rpcUrl} (id ${chains.payments.chainId}); ` +
      `escrow ${chains.payments.deployment.escrow ?? '?'}; ` +
      `demo player ${chains.accounts.player.address} has its deposit in escrow.`;
  }

  const env: Record<string, string | undefined> = { ...process.env };
  env.FARPLAY_MM_STATIC_DIR ??= staticDir;
  const port = flag('port');
  if (port !== undefined) env.FARPLAY_MM_PORT = port;
  const config = parseMatchmakerConfig(env);
  const matchmaker = await startMatchmaker(config, logger.child({ part: 'matchmaker' }));
  closers.push(() => matchmaker.close());

  const edges: Edge[] = [];
  for (const [index, spot] of LOCAL_EDGES.entries()) {
    // The first edge uses the demo edge key that is staked on the local staking chain.
    const nodePrivateKey = chainKeys[index] ?? localEdgeKey(spot.key);
    const server = await createEdge({
      config: parseEdgeConfig({
        port: 0,
        region: spot.region,
        lat: spot.lat,
        lon: spot.lon,
        gpu: 'none (software x264)',
        nodePrivateKey,
        matchmakerPublicKey: matchmaker.sessionPublicKey,
        // The local network plays on this machine: loopback and LAN candidates are the real ones.
        allowPrivateCandidates: true,
        pricePerMinute: DEMO_PRICE_PER_MINUTE,
        logLevel: config.logLevel,
      }),
      logger: logger.child({ part: 'edge', region: spot.region }),
    });
    const { edge } = server;
    closers.push(() => server.close());
    await server.listen();
    const control = startEdgeControl({
      edge,
      account: privateKeyToAccount(nodePrivateKey),
      matchmakerUrl: matchmaker.url,
      logger: logger.child({ part: 'edge-control', region: spot.region }),
    });
    closers.push(() => control.close());
    await control.registered;
    edges.push(edge);
  }

  const lines = [
    '',
    `  Farplay is running: matchmaker + ${edges.length} edges (${edges.map((e) => `${e.info().region} ${e.url}, ${e.info().encoder}`).join('; ')}).`,
    chainLine,
    `  Open ${matchmaker.url}/ in a browser (API docs at ${matchmaker.url}/docs).  Ctrl+C stops it.`,
    '',
  ];
  console.log(lines.join('\n'));
}

async function startStandalone(staticDir: string, logger: Logger, closers: Closer[]): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.FARPLAY_EDGE_STATIC_DIR ??= staticDir;
  env.FARPLAY_EDGE_ALLOW_PRIVATE_CANDIDATES ??= 'true';
  const port = flag('port');
  if (port !== undefined) env.FARPLAY_EDGE_PORT = port;
  const server = await createEdge({ config: loadEdgeConfig(env), logger });
  closers.push(() => server.close());
  const url = await server.listen();
  const info = server.edge.info();
  console.log(
    `\n  Farplay is running (one standalone edge, encoder ${info.encoder}, ${info.capacity} slots).\n  Open ${url}/ in a browser.  Ctrl+C stops it.\n`,
  );
}

/** A fixed, well-known key per local edge, so its address stays the same across restarts (local use only). */
function localEdgeKey(n: number): `0x${string}` {
  return `0x${'f0'.repeat(31)}${n.toString(16).padStart(2, '0')}`;
}

main().catch((error: unknown) => {
  console.error(`Farplay failed to start: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
