import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { deploymentOf } from '../protocol/deployment.js';
import { ErrorCodes } from '../protocol/errors.js';
import { catalogueFrameworkErrors } from '../protocol/http/catalogueFrameworkErrors.js';
import { rateLimitOptions } from '../protocol/http/rateLimitOptions.js';
import { useCatalogueErrors } from '../protocol/http/useCatalogueErrors.js';
import { LOG_REDACT_PATHS, redactedRequest } from '../protocol/logRedactions.js';
import { proxyTrust } from '../protocol/proxyTrust.js';
import { generateSessionKeyPair, importSessionPrivateKey } from '../protocol/sessionToken.js';
import { type AvailableDeposit, Billing } from './Billing.js';
import {
  defaultMatchmakerConfig,
  type MatchmakerConfig,
  parseRedisClusterNodes,
  parseStudioKeys,
} from './config.js';
import { createPackageStore, type PackageStore } from './createPackageStore.js';
import { billingRoutes, type Faucet } from './http/billingRoutes.js';
import { edgeRoutes } from './http/edgeRoutes.js';
import { gameRoutes } from './http/gameRoutes.js';
import { operationRoutes } from './http/operationRoutes.js';
import { packageAccess } from './http/packageAccess.js';
import { packageRoutes } from './http/packageRoutes.js';
import { attachSessionEventsSocket } from './http/sessionEventsSocket.js';
import { sessionRoutes } from './http/sessionRoutes.js';
import { studioRoutes } from './http/studioRoutes.js';
import { Matchmaker } from './Matchmaker.js';
import { createMetrics } from './metrics.js';
import { registerOperatorRoutes } from './registerOperatorRoutes.js';
import { createMemoryStore } from './store/createMemoryStore.js';
import { createRedisStore } from './store/createRedisStore.js';
import type { MatchmakerStore } from './store/MatchmakerStore.js';

export interface BuildAppOptions {
  /** Config (defaults filled in); see matchmaker/config.ts. */
  config?: Partial<MatchmakerConfig>;
  /** The store; default: Redis if `config.redisUrl`, else in-process. A store given here is not closed by the app. */
  store?: MatchmakerStore;
  /** pino logger (default: fastify's own at `config.logLevel`). */
  logger?: Logger;
  /** Package store (default: `config.dataDir` on disk, else memory). */
  packages?: PackageStore;
  /** Randomness for tie-breaking (tests). */
  random?: () => number;
  /** Local chains only: funds page wallets (`POST /v1/faucet`). */
  faucet?: Faucet;
  /** Reads a payer's available deposit (default: `paymentsRpcUrl` and `escrowAddress` from the config). */
  availableDeposit?: AvailableDeposit;
}

/** The matchmaker's fastify instance, TypeBox type provider included. */
export type MatchmakerApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The allocation core behind the routes. */
    matchmaker: Matchmaker;
    /** Base64url spki Ed25519 key that verifies this matchmaker's session tokens. */
    sessionPublicKey: string;
  }
}

/**
 * Builds the matchmaker HTTP app (not listening): edge, player, catalogue/studio, package and operator
 * routes (one plugin each, in http/), the session events WebSocket, and the player page when
 * `staticDir` is set. Call `app.ready()` (or `listen`) to start its background loops; `app.close()`
 * stops everything.
 */
export async function buildApp(options: BuildAppOptions = {}): Promise<MatchmakerApp> {
  const config = defaultMatchmakerConfig(options.config);
  const ownsStore = options.store === undefined;
  const store =
    options.store ??
    (config.redisUrl || config.redisCluster
      ? createRedisStore({
          url: config.redisUrl,
          cluster: parseRedisClusterNodes(config.redisCluster),
          keyPrefix: config.keyPrefix,
          // Called only once connected or retrying, after `app` below exists.
          onError: (err) => app.log.warn({ err }, 'redis connection error'),
        })
      : createMemoryStore());
  const packages =
    options.packages ?? createPackageStore(config.dataDir || undefined, config.packageMemoryLimit);
  const studioKeys = parseStudioKeys(config.studioApiKeys);
  const sessionKey: KeyObject = importSessionPrivateKey(
    config.sessionPrivateKey || generateSessionKeyPair().privateKey,
  );
  const sessionPublicKey = createPublicKey(sessionKey)
    .export({ format: 'der', type: 'spki' })
    .toString('base64url');
  const metrics = createMetrics();
  // Names this deployment (every instance sharing the token key): session-key proofs are bound to it.
  const deployment = deploymentOf(sessionPublicKey);
  const trust = proxyTrust(config.trustProxy);

  const app: MatchmakerApp = Fastify({
    // Request lines never carry `?token=` or `?proof=` values (protocol/logRedactions.ts).
    ...(options.logger
      ? { loggerInstance: options.logger.child({}, { serializers: { req: redactedRequest } }) }
      : {
          logger: {
            level: config.logLevel,
            redact: [...LOG_REDACT_PATHS],
            serializers: { req: redactedRequest },
          },
        }),
    bodyLimit: config.bodyLimit,
    // The client address (rate limits, reservation caps) through the configured trusted proxies only.
    trustProxy: trust,
    frameworkErrors: catalogueFrameworkErrors,
    // Per-request lines would be one per heartbeat; the matchmaker logs what matters itself.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const matchmaker = new Matchmaker({
    store,
    config,
    logger: app.log,
    sessionKey,
    metrics,
    deployment,
    ...(options.random ? { random: options.random } : {}),
    billing: new Billing(config, {
      faucet: options.faucet !== undefined,
      ...(options.availableDeposit ? { available: options.availableDeposit } : {}),
    }),
  });
  app.decorate('matchmaker', matchmaker);
  app.decorate('sessionPublicKey', sessionPublicKey);

  useCatalogueErrors(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Farplay matchmaker',
        version: '1',
        description: `Edge registry, catalogue and latency-aware allocation. Error codes: ${Object.keys(ErrorCodes).join(', ')}.`,
      },
      components: {
        securitySchemes: { studioKey: { type: 'http', scheme: 'bearer' } },
      },
    },
  });
  await app.register(
    rateLimit,
    // With Redis, one bucket per client address for every instance (the same store, the same prefix).
    rateLimitOptions({
      max: config.rateLimitMax,
      windowMs: config.rateLimitWindowMs,
      shared: store.sharedCounters,
    }),
  );

  await app.register(operationRoutes, { metrics, operatorToken: config.operatorToken });
  const operator = await registerOperatorRoutes(app, {
    config,
    secret: sessionKey.export({ format: 'der', type: 'pkcs8' }),
  });
  await app.register(edgeRoutes, {
    matchmaker,
    config,
    sessionPublicKey,
    storeKind: store.kind,
    checkRegistration: (body) => operator.checkRegistration(body),
  });
  await app.register(sessionRoutes, { matchmaker });
  await app.register(billingRoutes, { matchmaker, ...(options.faucet ? { faucet: options.faucet } : {}) });
  await app.register(gameRoutes, { matchmaker, packages, studioKeys });
  await app.register(packageRoutes, {
    packages,
    studioKeys,
    packageLimit: config.packageLimit,
    mayDownload: packageAccess({
      matchmaker,
      publicKey: createPublicKey(sessionKey),
      deployment,
      maxAgeMs: config.messageMaxAgeMs,
    }),
  });
  await app.register(studioRoutes, { matchmaker, studioKeys });
  if (config.staticDir) {
    await app.register(fastifyStatic, {
      root: config.staticDir,
      prefix: '/',
      wildcard: false,
      index: 'index.html',
    });
  }

  const detachEvents = attachSessionEventsSocket(app.server, matchmaker, {
    trust,
    upgradesPerWindow: config.upgradeRateLimitMax,
    windowMs: config.rateLimitWindowMs,
  });
  app.addHook('onReady', async () => {
    await matchmaker.start();
  });
  app.addHook('preClose', async () => {
    detachEvents();
  });
  app.addHook('onClose', async () => {
    await matchmaker.close();
    if (ownsStore) await store.close();
  });
  return app;
}
