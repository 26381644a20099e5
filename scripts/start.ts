// `npm start`: runs a whole Farplay network locally with embedded defaults — no external services.
//
//   - two local chains (anvil from npm: staking + payments), contracts deployed, a demo player funded
//     and both local edges staked (the matchmaker registers only staked edges);
//   - three checkers (in-process stores) registered on the local chains, quorum 2: the matchmaker assigns
//     them to every session, edges and pages send them their signed per-period QoS reports;
//   - the matchmaker (in-process store) serving the player page and the API, with a faucet route for
//     page wallets (local chains only);
//   - two edges in distinct regions and coordinates, registering and heartbeating with signed
//     messages, verifying the matchmaker's session tokens offline, reporting QoS and settling their
//     sessions' attested minutes on the payments chain.
//
// The player bundle is built first when missing or stale.
//
// Flags:
//   --port N       matchmaker port (default FARPLAY_MM_PORT or 8080; 0 = any free port)
//   --build        always rebuild the player bundle
//   --no-chain     skip the local chains and billing (streaming and matchmaking do not need them)
//   --period-ms N  the QoS policy's billed period (default 60000; shorter for demos)
//   --standalone   one edge alone, minting its own tokens (FARPLAY_EDGE_* variables apply)
// Every FARPLAY_MM_* variable of matchmaker/config.ts applies (e.g. FARPLAY_MM_REDIS_URL to use Redis).
import { type Logger, pino } from 'pino';
import Type from 'typebox';
import { privateKeyToAccount } from 'viem/accounts';
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
import { type LocalBilling, startLocalBilling } from './startLocalBilling.js';

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
  let network: LocalBilling | undefined;
  const env: Record<string, string | undefined> = { ...process.env };
  if (!process.argv.includes('--no-chain')) {
    const periodMs = Number(flag('period-ms') ?? 60_000);
    // Every local edge is staked: the matchmaker registers only edges with an active stake.
    const extraEdges = LOCAL_EDGES.slice(1).map((spot) => privateKeyToAccount(localEdgeKey(spot.key)));
    network = await startLocalBilling({ periodMs, logger, closers, extraEdges });
    const { chains } = network;
    chainKeys = [chains.privateKeys.edge];
    Object.assign(env, network.matchmakerEnv, { ...pick(process.env, 'FARPLAY_MM_') });
    chainLine =
      `  Chains: staking ${chains.staking.rpcUrl} (id ${chains.staking.chainId}), ` +
      `payments ${chains.payments.rpcUrl} (id ${chains.payments.chainId}); ` +
      `escrow ${chains.payments.deployment.escrow ?? '?'}; ` +
      `demo player ${chains.accounts.player.address} has its deposit in escrow.\n` +
      `  Checkers: ${network.checkerUrls.join(', ')} (quorum 2, ${periodMs} ms periods).`;
  }

  env.FARPLAY_MM_STATIC_DIR ??= staticDir;
  const port = flag('port');
  if (port !== undefined) env.FARPLAY_MM_PORT = port;
  const config = parseMatchmakerConfig(env);
  const matchmaker = await startMatchmaker(
    config,
    logger.child({ part: 'matchmaker' }),
    network ? { faucet: network.faucet } : {},
  );
  closers.push(() => matchmaker.close());
  // The checkers start before the matchmaker: now they can probe its edges (RTT, synthetic sessions).
  network?.probeVia(matchmaker.url);

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
    if (network) {
      const billing = await network.startEdge(edge, logger.child({ part: 'billing', region: spot.region }));
      closers.push(() => billing.close());
    }
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

/** The variables of `env` that start with `prefix` (they override what npm start sets). */
function pick(env: NodeJS.ProcessEnv, prefix: string): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith(prefix)));
}

/** A fixed, well-known key per local edge, so its address stays the same across restarts (local use only). */
function localEdgeKey(n: number): `0x${string}` {
  return `0x${'f0'.repeat(31)}${n.toString(16).padStart(2, '0')}`;
}

main().catch((error: unknown) => {
  console.error(`Farplay failed to start: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
