import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import Type from 'typebox';
import { WebSocketServer } from 'ws';
import {
  SignedEdgeHeartbeat,
  SignedEdgeRegistration,
  SignedEdgeSessionReport,
} from '../protocol/edgeRegistration.js';
import { ErrorCodes, FarplayError, toFarplayError } from '../protocol/errors.js';
import { LOG_REDACT_PATHS } from '../protocol/logRedactions.js';
import {
  CandidatesQuery,
  GameManifest,
  ListEdgesResponse,
  MatchmakerInfo,
  PackageUploaded,
  RegisterEdgeResponse,
  SessionStatus,
} from '../protocol/matchmakerApi.js';
import {
  CandidatesResponse,
  CreateSessionRequest,
  CreateSessionResponse,
  ListGamesResponse,
  type SessionEvent,
} from '../protocol/playerApi.js';
import { generateSessionKeyPair, importSessionPrivateKey } from '../protocol/sessionToken.js';
import { defaultMatchmakerConfig, type MatchmakerConfig, parseStudioKeys } from './config.js';
import { createPackageStore, type PackageStore } from './createPackageStore.js';
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
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The allocation core behind the routes. */
    matchmaker: Matchmaker;
    /** Base64url spki Ed25519 key that verifies this matchmaker's session tokens. */
    sessionPublicKey: string;
  }
}

const ErrorResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
const Ok = Type.Object({ ok: Type.Boolean() });

/**
 * Builds the matchmaker HTTP app (not listening): player API, edge control API, studio API,
 * session events WebSocket, OpenAPI at /docs, /metrics, and the player page when `staticDir` is set.
 * Call `app.ready()` (or `listen`) to start its background loops; `app.close()` stops everything.
 */
export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config = defaultMatchmakerConfig(options.config);
  const ownsStore = options.store === undefined;
  const store =
    options.store ??
    (config.redisUrl
      ? createRedisStore({
          url: config.redisUrl,
          keyPrefix: config.keyPrefix,
          // Called only once connected or retrying, after `app` below exists.
          onError: (err) => app.log.warn({ err }, 'redis connection error'),
        })
      : createMemoryStore());
  const packages = options.packages ?? createPackageStore(config.dataDir || undefined);
  const studioKeys = parseStudioKeys(config.studioApiKeys);
  const sessionKey: KeyObject = importSessionPrivateKey(
    config.sessionPrivateKey || generateSessionKeyPair().privateKey,
  );
  const sessionPublicKey = createPublicKey(sessionKey)
    .export({ format: 'der', type: 'spki' })
    .toString('base64url');
  const metrics = createMetrics();

  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : {
          logger: {
            level: config.logLevel,
            redact: [...LOG_REDACT_PATHS],
          },
        }),
    bodyLimit: config.bodyLimit,
    // Per-request lines would be one per heartbeat; the matchmaker logs what matters itself.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const matchmaker = new Matchmaker({
    store,
    config,
    logger: app.log as unknown as Logger,
    sessionKey,
    metrics,
    ...(options.random ? { random: options.random } : {}),
  });
  app.decorate('matchmaker', matchmaker);
  app.decorate('sessionPublicKey', sessionPublicKey);

  app.setErrorHandler((error: FastifyError | FarplayError, request, reply) => {
    const farplay = toFarplayError(error);
    if (farplay.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    if (farplay.code === 'RATE_LIMITED') {
      const retry = reply.getHeader('retry-after');
      if (retry !== undefined) reply.header('retry-after', retry);
    }
    return reply.status(farplay.status).send(farplay.toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

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
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimitMax,
    timeWindow: config.rateLimitWindowMs,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'RATE_LIMITED',
      message: `rate limit of ${context.max} requests per ${context.after} exceeded; retry after ${context.after}`,
    }),
  });

  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: config.packageLimit },
    (_request, body, done) => done(null, body),
  );

  const errors = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
  const operator = await registerOperatorRoutes(app as unknown as FastifyInstance, {
    config,
    secret: sessionKey.export({ format: 'der', type: 'pkcs8' }),
  });

  // --- matchmaker info ---
  app.get(
    '/v1/matchmaker',
    {
      schema: {
        tags: ['edges'],
        summary: 'Session-token key and timing edges need',
        response: { 200: MatchmakerInfo },
      },
    },
    async () => ({
      sessionPublicKey,
      heartbeatMs: config.heartbeatMs,
      edgeTtlMs: config.edgeTtlMs,
      reservationTtlMs: config.reservationTtlMs,
      messageMaxAgeMs: config.messageMaxAgeMs,
      store: store.kind,
    }),
  );

  // --- edges ---
  app.post(
    '/v1/edges/register',
    {
      schema: {
        tags: ['edges'],
        summary: 'Register an edge (EIP-712 signed by its node key)',
        body: SignedEdgeRegistration,
        response: { 200: RegisterEdgeResponse, ...errors },
      },
    },
    async (request) => {
      await operator.checkRegistration(request.body);
      const { edgeId } = await matchmaker.registerEdge(request.body);
      return { edgeId, heartbeatMs: config.heartbeatMs, edgeTtlMs: config.edgeTtlMs, sessionPublicKey };
    },
  );
  app.post(
    '/v1/edges/heartbeat',
    {
      schema: {
        tags: ['edges'],
        summary: 'Heartbeat with load (signed); MM_UNKNOWN_EDGE means register again',
        body: SignedEdgeHeartbeat,
        response: { 200: Ok, ...errors },
      },
    },
    async (request) => {
      await matchmaker.heartbeat(request.body);
      return { ok: true };
    },
  );
  app.post(
    '/v1/edges/sessions',
    {
      schema: {
        tags: ['edges'],
        summary: 'Report a session started or ended (signed)',
        body: SignedEdgeSessionReport,
        response: { 200: Ok, ...errors, 403: ErrorResponse },
      },
    },
    async (request) => {
      await matchmaker.reportSession(request.body);
      return { ok: true };
    },
  );
  app.get(
    '/v1/edges',
    {
      schema: {
        tags: ['edges'],
        summary: 'Live edges as this instance sees them',
        response: { 200: ListEdgesResponse },
      },
    },
    async () => ({
      edges: matchmaker.edges().map((e) => ({
        edgeId: e.edge.id,
        region: e.edge.region,
        lat: e.edge.lat,
        lon: e.edge.lon,
        url: e.edge.publicUrl,
        capacity: e.edge.capacity,
        usedSlots: e.usedSlots,
        encoders: e.edge.encoders,
        pricePerMinute: e.edge.pricePerMinute,
        priceMultiplier: matchmaker.multiplier(e.edge.region),
        games: e.edge.games.map((g) => g.id),
      })),
    }),
  );

  // --- players ---
  app.get(
    '/v1/games',
    { schema: { tags: ['players'], summary: 'The game catalogue', response: { 200: ListGamesResponse } } },
    async () => ({ games: matchmaker.games() }),
  );
  app.post(
    '/v1/candidates',
    {
      schema: {
        tags: ['players'],
        summary: 'Candidate edges to probe for a game',
        body: CandidatesQuery,
        response: { 200: CandidatesResponse, ...errors },
      },
    },
    async (request) => ({ candidates: await matchmaker.candidates(request.body) }),
  );
  app.post(
    '/v1/sessions',
    {
      schema: {
        tags: ['players'],
        summary: 'Allocate a session on the best edge and sign its token',
        body: CreateSessionRequest,
        response: { 200: CreateSessionResponse, ...errors, 503: ErrorResponse },
      },
    },
    async (request) => matchmaker.createSession(request.body),
  );
  app.get(
    '/v1/sessions/:sessionId',
    {
      schema: {
        tags: ['players'],
        summary: 'A session’s state',
        params: Type.Object({ sessionId: Type.String({ maxLength: 128 }) }),
        response: { 200: SessionStatus, 404: ErrorResponse },
      },
    },
    async (request) => {
      const s = await matchmaker.session(request.params.sessionId);
      return { sessionId: s.sessionId, gameId: s.gameId, edgeId: s.edgeId, state: s.state };
    },
  );
  app.get(
    '/v1/sessions/:sessionId/events',
    {
      schema: {
        tags: ['players'],
        summary: 'WebSocket: {type:"moved", session} on failover, {type:"ended"} (HTTP without upgrade: 400)',
        params: Type.Object({ sessionId: Type.String({ maxLength: 128 }) }),
      },
    },
    async () => {
      throw new FarplayError('BAD_REQUEST', 'this route is a WebSocket; send Upgrade: websocket');
    },
  );

  // --- studios ---
  const studioOf = (request: FastifyRequest): string => {
    const header = request.headers.authorization ?? '';
    const key = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    const studio = key ? studioKeys.get(key) : undefined;
    if (!studio) throw new FarplayError('MM_BAD_API_KEY');
    return studio;
  };
  app.post(
    '/v1/studio/games',
    {
      schema: {
        tags: ['studios'],
        summary: 'Publish (or update) a game manifest',
        security: [{ studioKey: [] }],
        body: GameManifest,
        response: {
          200: Type.Object({ game: ListGamesResponse.properties.games.items }),
          ...errors,
          403: ErrorResponse,
        },
      },
    },
    async (request) => {
      const studio = studioOf(request);
      const { runtime, command, packageSha256, ...game } = request.body;
      if (runtime === 'package') {
        if (!packageSha256 || !command) {
          throw new FarplayError('BAD_REQUEST', "runtime 'package' needs packageSha256 and command");
        }
        if (!(await packages.has(packageSha256))) throw new FarplayError('MM_UNKNOWN_PACKAGE');
      }
      await matchmaker.publishGame({
        game,
        runtime,
        ...(command ? { command } : {}),
        ...(packageSha256 ? { packageSha256 } : {}),
        studio,
        publishedAt: Date.now(),
      });
      request.log.info({ studio, gameId: game.id, runtime }, 'game published');
      return { game };
    },
  );
  app.put(
    '/v1/studio/packages',
    {
      bodyLimit: config.packageLimit,
      schema: {
        tags: ['studios'],
        summary: 'Upload a game package (application/octet-stream); stored under its sha256',
        security: [{ studioKey: [] }],
        querystring: Type.Object({ sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })) }),
        response: { 200: PackageUploaded, ...errors, 413: ErrorResponse },
      },
    },
    async (request) => {
      studioOf(request);
      const body = request.body as unknown;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new FarplayError(
          'BAD_REQUEST',
          'send the package as a non-empty application/octet-stream body',
        );
      }
      const sha256 = createHash('sha256').update(body).digest('hex');
      if (request.query.sha256 && request.query.sha256 !== sha256) {
        throw new FarplayError('MM_PACKAGE_MISMATCH', undefined, {
          details: { expected: request.query.sha256, got: sha256 },
        });
      }
      return packages.put(body);
    },
  );
  app.get(
    '/v1/packages/:sha256',
    {
      schema: {
        tags: ['edges'],
        summary: 'Download a package by sha256 (edges verify the hash)',
        params: Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
      },
    },
    async (request, reply) => {
      const bytes = await packages.get(request.params.sha256);
      if (!bytes) throw new FarplayError('MM_UNKNOWN_PACKAGE');
      return reply.type('application/octet-stream').send(bytes);
    },
  );

  app.get('/metrics', { config: { rateLimit: false }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  if (config.staticDir) {
    await app.register(fastifyStatic, {
      root: config.staticDir,
      prefix: '/',
      wildcard: false,
      index: 'index.html',
    });
  }

  // --- session events WebSocket ---
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const eventsPath = /^\/v1\/sessions\/([A-Za-z0-9_-]{1,128})\/events$/;
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    const match = eventsPath.exec(path);
    if (!match) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const sessionId = match[1] as string;
    wss.handleUpgrade(request, socket, head, (ws) => {
      const send = (event: SessionEvent) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      };
      const unsubscribe = matchmaker.onSessionEvent(sessionId, (event) => {
        send(event);
        ws.close(1000, event.type);
      });
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
      ws.on('message', () => {}); // the player sends nothing; ignore
      matchmaker.session(sessionId).catch(() => {
        send({ type: 'ended', reason: 'unknown-session' });
        ws.close(4404, 'unknown session');
      });
    });
  };
  app.server.on('upgrade', onUpgrade);

  app.addHook('onReady', async () => {
    await matchmaker.start();
  });
  app.addHook('preClose', async () => {
    app.server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
  app.addHook('onClose', async () => {
    await matchmaker.close();
    if (ownsStore) await store.close();
  });
  return app as unknown as FastifyInstance;
}
