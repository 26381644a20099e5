import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import Type from 'typebox';
import { type Address, type Hex, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { localChain } from '../contracts-client/src/chains.js';
import { createChainClients } from '../contracts-client/src/clients.js';
import {
  CheckerHealth,
  CheckerSessionInfo,
  MinuteReports,
  OpenSessionRequest,
  ReportAccepted,
  ReportBatchRequest,
  SignedAttestation,
} from '../protocol/checkerApi.js';
import { escrowDomain } from '../protocol/eip712.js';
import { ErrorCodes, FarplayError } from '../protocol/errors.js';
import { catalogueFrameworkErrors } from '../protocol/http/catalogueFrameworkErrors.js';
import { rateLimitOptions } from '../protocol/http/rateLimitOptions.js';
import { useCatalogueErrors } from '../protocol/http/useCatalogueErrors.js';
import { qosPolicy } from '../protocol/qosPolicy.js';
import { AddressHex, Bytes32, GrantJson, SignedQosReport } from '../protocol/qosReport.js';
import { Checker } from './Checker.js';
import { type CheckerConfig, defaultCheckerConfig } from './config.js';
import { EdgeProber } from './EdgeProber.js';
import { RefutedSlasher } from './RefutedSlasher.js';
import { serializeReportAccepted } from './serializeReportAccepted.js';
import { signAttestationBatch } from './signAttestationBatch.js';
import type { CheckerStore } from './store/CheckerStore.js';
import { createMemoryStore } from './store/createMemoryStore.js';
import { createRedisStore } from './store/createRedisStore.js';
import { submitReportBatch } from './submitReportBatch.js';

export interface BuildAppOptions {
  /** Config (defaults filled in); see checker/config.ts. */
  config?: Partial<CheckerConfig>;
  /** The store; default: Redis if `config.redisUrl`, else in-process. A store given here is not closed by the app. */
  store?: CheckerStore;
  /** pino logger (default: fastify's own at `config.logLevel`). */
  logger?: Logger;
  /** Clock (unix ms) for tests. */
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The checker core behind the routes. */
    checker: Checker;
    /** Its active probes of the sessions' edges (idle until it knows a matchmaker). */
    prober: EdgeProber;
    /** Submits refuted-claim slashes (only with `stakingRpcUrl`). */
    slasher: RefutedSlasher | undefined;
  }
}

const ErrorResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});
const SessionParams = Type.Object({ sessionId: Bytes32 });

/**
 * Builds the checker HTTP app (not listening): open sessions from grants, take signed per-minute reports from both
 * ends, serve attestations and the evidence behind each verdict; OpenAPI JSON at /docs/json.
 * `app.close()` stops the checker's sweep and closes the store it made.
 */
export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config = defaultCheckerConfig(options.config);
  const ownsStore = options.store === undefined;
  const store =
    options.store ??
    (config.redisUrl
      ? createRedisStore({
          url: config.redisUrl,
          keyPrefix: config.keyPrefix,
          onError: (err) => app.log.warn({ err }, 'redis connection error'),
        })
      : createMemoryStore(options.now));

  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { level: config.logLevel, redact: ['*.privateKey', '*.signature'] } }),
    bodyLimit: config.bodyLimit,
    frameworkErrors: catalogueFrameworkErrors,
    // One line per report would be thousands a second; the checker logs what matters itself.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const privateKey = (config.privateKey || generatePrivateKey()) as Hex;
  const checker = new Checker({
    store,
    policy: qosPolicy({ periodMs: config.periodMs, reportGraceMs: config.reportGraceMs }),
    privateKey,
    chains: {
      escrow: { chainId: config.paymentsChainId, address: (config.escrowAddress ?? zeroAddress) as Address },
      staking: { chainId: config.stakingChainId, address: (config.stakingAddress ?? zeroAddress) as Address },
    },
    logger: app.log as unknown as Logger,
    slashBps: config.slashBps,
    slashWindowS: config.slashWindowS,
    refutedSlashBps: config.refutedSlashBps,
    sweepMs: config.sweepMs,
    retentionMs: config.retentionMs,
    ...(options.now ? { now: options.now } : {}),
    probes: () => prober.active,
  });
  // Timers only for intervals > 0; without a matchmaker URL (config or `useMatchmaker`) it probes nothing.
  const prober: EdgeProber = new EdgeProber({
    matchmakerUrl: config.matchmakerUrl,
    account: privateKeyToAccount(privateKey),
    record: (sessionId, probe) => checker.recordProbe(sessionId, probe),
    logger: app.log as unknown as Logger,
    rttEveryMs: config.probeRttMs,
    rttSamples: config.probeRttSamples,
    sessionEveryMs: config.probeSessionMs,
    sessionWindowMs: config.probeWindowMs,
    idleMs: 2 * config.periodMs + config.reportGraceMs,
    ...(options.now ? { now: options.now } : {}),
  });
  checker.on('active', (sessionId, edge) => prober.track(sessionId, edge));
  app.decorate('checker', checker);
  app.decorate('prober', prober);
  // A checker with a staking RPC submits the refuted-claim slashes it finds (beside billing, never blocking it).
  const slasher =
    config.stakingRpcUrl && config.stakingAddress
      ? new RefutedSlasher({
          checker,
          clients: createChainClients(
            localChain(config.stakingChainId, config.stakingRpcUrl),
            privateKeyToAccount(privateKey),
          ),
          staking: config.stakingAddress as Address,
          logger: app.log as unknown as Logger,
          staggerMs: config.slashStaggerMs,
        })
      : undefined;
  app.decorate('slasher', slasher);
  if (slasher) checker.on('refuted', (sessionId, minute) => slasher.enqueue(sessionId, minute));

  useCatalogueErrors(app);
  // Player pages post their reports from the matchmaker's origin: the API is CORS-open (it takes no cookies).
  // A callback hook, not an async one: no promise per request (every report passes here).
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('access-control-allow-origin', '*');
    if (request.method === 'OPTIONS') {
      reply
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', 'content-type')
        .header('access-control-max-age', '600')
        .status(204)
        .send();
      return;
    }
    done();
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Farplay checker',
        version: '1',
        description: `Per-minute QoS reports in, cumulative attestations and evidence out. Error codes: ${Object.keys(
          ErrorCodes,
        )
          .filter((c) => c.startsWith('CHECKER_'))
          .join(', ')}.`,
      },
    },
  });
  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(
    rateLimit,
    rateLimitOptions({ max: config.rateLimitMax, windowMs: config.rateLimitWindowMs }),
  );

  const errors = {
    400: ErrorResponse,
    401: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    409: ErrorResponse,
    422: ErrorResponse,
    425: ErrorResponse,
  };

  app.get(
    '/v1/health',
    { schema: { summary: 'Liveness, this checker’s address and policy', response: { 200: CheckerHealth } } },
    async () => ({
      ok: !checker.closed,
      checker: checker.address,
      policyHash: checker.policyHash,
      periodMs: checker.policy.periodMs,
      store: store.kind,
    }),
  );
  app.get(
    '/v1/policy',
    { schema: { summary: 'The QoS policy this checker applies (hashed as policyHash)' } },
    async () => ({
      policy: checker.policy,
      policyHash: checker.policyHash,
    }),
  );
  app.post(
    '/v1/sessions',
    {
      schema: {
        summary: 'Open a session with the player’s signed grant (idempotent)',
        body: OpenSessionRequest,
        response: { 200: CheckerSessionInfo, ...errors },
      },
    },
    async (request) => {
      await checker.openSession(request.body.grant, request.body.grantSignature as Hex);
      return checker.session(request.body.grant.sessionId as Hex);
    },
  );
  app.get(
    '/v1/sessions/:sessionId',
    {
      schema: {
        summary: 'The session at this checker: billable minutes so far',
        params: SessionParams,
        response: { 200: CheckerSessionInfo, ...errors },
      },
    },
    async (request) => checker.session(request.params.sessionId as Hex),
  );
  app.post(
    '/v1/sessions/:sessionId/reports',
    {
      schema: {
        summary:
          'One side’s signed QoS report of one minute (edge: node key; player: the grant’s session key)',
        params: SessionParams,
        body: SignedQosReport,
        response: { 200: ReportAccepted, ...errors },
      },
      // The hot route (thousands a second): no per-request pino child (its bindings go through the redaction,
      // ≈ 2 % of a report's cost; errors are still logged, without a reqId) and a direct serializer for the
      // answer (the schema's nullable unions make the generated one validate each branch, ≈ 5 %).
      childLoggerFactory: (logger) => logger,
    },
    async (request, reply) => {
      const result = await checker.submitReport(
        request.params.sessionId as Hex,
        request.body as SignedQosReport,
      );
      reply.header('content-type', 'application/json; charset=utf-8').serializer(serializeReportAccepted);
      return result;
    },
  );
  app.post(
    '/v1/reports/batch',
    {
      schema: {
        summary:
          'Several signed reports (an edge’s of a period, all its sessions), each for the session it names, taken in order; one result per item: what the single route answers, or its error',
        body: ReportBatchRequest,
        response: { 200: Type.Object({ results: Type.Array(Type.Unknown()) }), ...errors },
      },
      bodyLimit: config.batchBodyLimit,
      childLoggerFactory: (logger) => logger,
    },
    async (request, reply) => {
      // Already JSON (each answer built as the single route's serializer does): sent as it is.
      const json = await submitReportBatch(checker, request.body.reports, request.log);
      reply.header('content-type', 'application/json; charset=utf-8').serializer((s: unknown) => s as string);
      return json as unknown as { results: unknown[] };
    },
  );
  app.get(
    '/v1/sessions/:sessionId/minutes/:minute',
    {
      schema: {
        summary: 'Which sides’ reports of one minute this checker holds (edges poll it for the player’s)',
        params: Type.Object({
          sessionId: Bytes32,
          minute: Type.String({ pattern: '^(0|[1-9][0-9]{0,4})$' }),
        }),
        response: { 200: MinuteReports, ...errors },
      },
    },
    async (request) => {
      const sessionId = request.params.sessionId as Hex;
      if ((await store.getSession(sessionId)) === null) throw new FarplayError('CHECKER_UNKNOWN_SESSION');
      const minute = Number(request.params.minute);
      const { edge, player } = await store.minuteReports(sessionId, minute);
      return {
        sessionId: sessionId.toLowerCase(),
        minute,
        edge: edge !== undefined,
        player: player !== undefined,
      };
    },
  );
  app.get(
    '/v1/sessions/:sessionId/attestation',
    {
      schema: {
        summary: 'The signed cumulative attestation for exactly `minutes`, or the highest one',
        params: SessionParams,
        querystring: Type.Object({ minutes: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,4}$' })) }),
        response: { 200: SignedAttestation, ...errors },
      },
    },
    async (request) => {
      const { minutes } = request.query;
      const a = await checker.attestation(
        request.params.sessionId as Hex,
        minutes === undefined ? undefined : Number(minutes),
      );
      if (a === null) throw new FarplayError('NOT_FOUND', 'no attestation for these minutes (yet)');
      return a;
    },
  );
  app.post(
    '/v1/attestations/batch',
    {
      schema: {
        summary: 'One signature over several sessions’ attested minutes (AttestationBatch, for batchSettle)',
        body: Type.Object(
          {
            sessions: Type.Array(
              Type.Object(
                { sessionId: Bytes32, minutes: Type.Integer({ minimum: 1, maximum: 0xffff }) },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: 200 },
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            checker: AddressHex,
            policyHash: Bytes32,
            sessions: Type.Array(
              Type.Object({ sessionId: Bytes32, grantHash: Bytes32, minutes: Type.Integer() }),
            ),
            signature: Type.String(),
          }),
          ...errors,
        },
      },
    },
    async (request) =>
      signAttestationBatch({
        store,
        privateKey,
        checker: checker.address,
        domain: escrowDomain(checker.chains.escrow.chainId, checker.chains.escrow.address),
        policyHash: checker.policyHash,
        sessions: request.body.sessions.map((s) => ({ sessionId: s.sessionId as Hex, minutes: s.minutes })),
      }),
  );
  app.get(
    '/v1/sessions/:sessionId/grant',
    {
      schema: {
        summary: 'The grant the session was opened with and the player’s signature (what settlement needs)',
        params: SessionParams,
        response: { 200: Type.Object({ grant: GrantJson, grantSignature: Type.String() }), ...errors },
      },
    },
    async (request) => {
      const stored = await store.getSession(request.params.sessionId as Hex);
      if (stored === null) throw new FarplayError('CHECKER_UNKNOWN_SESSION');
      return {
        grant: JSON.parse(stored.record.grantJson) as GrantJson,
        grantSignature: stored.record.grantSignature,
      };
    },
  );
  app.get(
    '/v1/sessions/:sessionId/evidence',
    {
      schema: {
        summary: 'Grant, signed reports, verdicts, attestations and contradictions: everything to re-check',
        params: SessionParams,
      },
    },
    async (request) => checker.evidence(request.params.sessionId as Hex),
  );

  // The verdicts alone (with the policy they apply): what an operator's `farplay-edge status` reads to say which
  // metric failed. Public like the evidence they are part of (anyone may re-check a verdict), only lighter.
  app.get(
    '/v1/sessions/:sessionId/verdicts',
    {
      schema: {
        summary: 'The session’s per-minute verdicts with their reasons and figures, and the policy applied',
        params: SessionParams,
        querystring: Type.Object({ since: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$' })) }),
      },
    },
    async (request) => {
      const e = await checker.evidence(request.params.sessionId as Hex);
      const since = Number(request.query.since ?? 0);
      return {
        checker: e.checker,
        sessionId: e.session.sessionId,
        billableMinutes: e.billableMinutes,
        policy: e.policy,
        policyHash: e.policyHash,
        verdicts: e.verdicts.filter((v) => v.minute >= since),
      };
    },
  );

  app.post(
    '/v1/sessions/:sessionId/minutes/:minute/refuted-slash',
    {
      schema: {
        summary:
          'This checker’s signature over a RefutedSlash order for the minute naming `finder`, with the evidence, if its own reports show the edge’s claim refuted',
        params: Type.Object({
          sessionId: Bytes32,
          minute: Type.String({ pattern: '^(0|[1-9][0-9]{0,4})$' }),
        }),
        body: Type.Object({ finder: AddressHex }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            order: Type.Unknown(),
            evidence: Type.Unknown(),
            checker: AddressHex,
            signature: Type.String(),
          }),
          ...errors,
        },
      },
    },
    async (request) =>
      checker.refutedSlashOrder(
        request.params.sessionId as Hex,
        Number(request.params.minute),
        request.body.finder as Address,
      ),
  );

  app.options('/*', { schema: { hide: true } }, async (_request, reply) => reply.status(204).send());
  app.addHook('onClose', async () => {
    await prober.close();
    await slasher?.close();
    await checker.close();
    if (ownsStore) await store.close();
  });
  return app as unknown as FastifyInstance;
}
