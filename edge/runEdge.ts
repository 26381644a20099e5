import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { readDeployment } from '../contracts-client/src/deployment.js';
import { deploymentOf } from '../protocol/deployment.js';
import { findError } from '../protocol/errors.js';
import { LOG_REDACT_PATHS } from '../protocol/logRedactions.js';
import { type RunningEdgeBilling, startEdgeBilling } from './billing/startEdgeBilling.js';
import { type EdgeConfig, loadEdgeConfig, parseEdgeConfig } from './config.js';
import { matchmakerKeySource } from './control/matchmakerKeySource.js';
import { resolveIceServers } from './control/matchmakerStun.js';
import { fetchMatchmakerInfo, startEdgeControl } from './control/startEdgeControl.js';
import { createEdge } from './createEdge.js';
import type { Edge } from './Edge.js';
import { missingNativeTools, NativeGameCatalog } from './native/NativeGameCatalog.js';
import { loadNodeKey } from './operator/loadNodeKey.js';
import { readCapability } from './operator/readCapability.js';
import { PackageCache } from './packages/PackageCache.js';

/** What `runEdge` hands its caller once the edge serves. */
export interface RunningEdge {
  edge: Edge;
  logger: Logger;
  billing: RunningEdgeBilling | undefined;
  /** Called (once) before the process exits on SIGINT/SIGTERM. */
  onStop(listener: () => void): void;
}

/**
 * The edge process: reads FARPLAY_EDGE_* config from `env`, builds the logger, probes encoders, serves; with a
 * matchmaker URL it also registers and heartbeats, with a payments chain it bills. Owns the process: it exits on
 * SIGINT/SIGTERM after closing everything, and on bad config.
 */
export async function runEdge(env: Record<string, string | undefined>): Promise<RunningEdge> {
  let config: Readonly<EdgeConfig>;
  try {
    config = loadEdgeConfig(env);
    // The node key may sit in an encrypted keystore (farplay-edge init); it is decrypted once, here.
    const nodePrivateKey = loadNodeKey(config);
    if (nodePrivateKey && !config.nodePrivateKey) config = parseEdgeConfig({ ...config, nodePrivateKey });
    // The token key is pinned in config, unless the matchmaker is reached over HTTPS or on this machine.
    matchmakerKeySource(config);
  } catch (error) {
    process.stderr.write(`${findError(error)?.message ?? String(error)}\n`);
    process.exit(2);
  }
  const logger = pino({
    level: config.logLevel,
    redact: [...LOG_REDACT_PATHS],
  });
  const matchmakerUrl = config.matchmakerUrl;
  if (matchmakerUrl && matchmakerKeySource(config) === 'fetch') {
    // The matchmaker publishes the key its session tokens are signed with (over HTTPS or loopback only).
    const info = await retry(
      () => fetchMatchmakerInfo(matchmakerUrl),
      30,
      1000,
      (error) => logger.warn({ err: error, matchmakerUrl }, 'matchmaker not reachable yet; retrying'),
    );
    config = parseEdgeConfig({ ...config, matchmakerPublicKey: info.sessionPublicKey });
  }
  // No ICE servers configured: the matchmaker's STUN responder (no third party) when it has one.
  const iceServers = await resolveIceServers(config, logger);
  if (iceServers !== config.iceServers) config = parseEdgeConfig({ ...config, iceServers });
  // Native studio games need a matchmaker (manifests, packages) and the Debian tools; else built-ins only.
  const missingTools = matchmakerUrl ? missingNativeTools() : [];
  if (missingTools.length > 0) logger.warn({ missingTools }, 'native games off: tools missing');
  const packageGames =
    matchmakerUrl && missingTools.length === 0
      ? new NativeGameCatalog({
          matchmakerUrl,
          packages: new PackageCache({
            dir: join(tmpdir(), 'farplay-packages'),
            matchmakerUrl,
            // Downloads are signed by the node key for the matchmaker's deployment (registered edges only).
            auth: {
              account: privateKeyToAccount((config.nodePrivateKey ?? generatePrivateKey()) as `0x${string}`),
              deployment: deploymentOf(config.matchmakerPublicKey ?? ''),
            },
            logger: logger.child({ part: 'packages' }),
          }),
          runtimeDir: join(tmpdir(), `farplay-native-${process.pid}`),
          logger: logger.child({ part: 'native' }),
        })
      : undefined;
  const server = await createEdge({ config, logger, ...(packageGames ? { packageGames } : {}) });
  const { edge } = server;
  const url = await server.listen();
  logger.info({ url, edgeId: edge.id, standalone: edge.standalone }, 'edge ready');

  const billing = startBillingIfConfigured(config, edge, logger);
  let control: { close(): unknown } | undefined;
  if (matchmakerUrl) {
    if (!config.nodePrivateKey) {
      process.stderr.write('FARPLAY_EDGE_NODE_PRIVATE_KEY is required to register with a matchmaker\n');
      await server.close();
      process.exit(2);
    }
    control = startEdgeControl({
      edge,
      account: privateKeyToAccount(config.nodePrivateKey as `0x${string}`),
      matchmakerUrl,
      ...readCapability(config.capabilityFile),
      logger: logger.child({ part: 'edge-control' }),
    });
  }

  const stopListeners: (() => void)[] = [];
  const stop = (signal: string): void => {
    for (const listener of stopListeners.splice(0)) listener();
    logger.info({ signal }, 'shutting down');
    Promise.resolve(control?.close())
      .then(() => billing?.close())
      .then(() => server.close())
      .then(() => packageGames?.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return { edge, logger, billing, onStop: (listener) => stopListeners.push(listener) };
}

/** With a payments RPC and the deployment files, the edge reports QoS and settles (issue 9); else it does not. */
function startBillingIfConfigured(
  config: Readonly<EdgeConfig>,
  edge: Edge,
  logger: Logger,
): RunningEdgeBilling | undefined {
  if (!config.paymentsRpcUrl) {
    logger.info('billing off: no FARPLAY_EDGE_PAYMENTS_RPC_URL');
    return undefined;
  }
  try {
    const payments = readDeployment(config.paymentsChainId, 'payments', config.deploymentsDir);
    const staking = readDeployment(config.stakingChainId, 'staking', config.deploymentsDir);
    if (!payments.escrow || !staking.staking)
      throw new Error('deployment without escrow or staking registry');
    return startEdgeBilling({
      edge,
      logger: logger.child({ part: 'billing' }),
      periodMs: config.qosPeriodMs,
      reportGraceMs: config.qosReportGraceMs,
      staking: { chainId: config.stakingChainId, address: staking.staking },
      payments: { chainId: config.paymentsChainId, rpcUrl: config.paymentsRpcUrl, escrow: payments.escrow },
      settleEveryMs: config.settleEveryMs,
      grantGraceMs: config.grantGraceMs,
      outboxFile: join(config.qosOutboxDir, `${edge.id.toLowerCase()}.jsonl`),
    });
  } catch (err) {
    logger.warn({ err }, 'billing off: no usable deployment files');
    return undefined;
  }
}

/** Calls `attempt` until it resolves, at most `tries` times, `delayMs` apart. */
async function retry<T>(
  attempt: () => Promise<T>,
  tries: number,
  delayMs: number,
  onError: (error: unknown) => void,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= tries) throw error;
      onError(error);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
