import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { onRequestHookHandler, onSendHookHandler } from 'fastify';
import { deploymentOf } from '../../protocol/deployment.js';
import { SignedProbeRequest } from '../../protocol/edgeProbe.js';
import {
  SignedEdgeHeartbeat,
  SignedEdgeRegistration,
  SignedEdgeSessionReport,
} from '../../protocol/edgeRegistration.js';
import { FarplayError } from '../../protocol/errors.js';
import {
  HeartbeatResponse,
  ListEdgesResponse,
  MatchmakerInfo,
  RegisterEdgeResponse,
} from '../../protocol/matchmakerApi.js';
import { CreateSessionResponse } from '../../protocol/playerApi.js';
import { RateBuckets } from '../../protocol/RateBuckets.js';
import type { MatchmakerConfig } from '../config.js';
import type { Matchmaker } from '../Matchmaker.js';
import { ErrorResponse, errorResponses, Ok } from './schemas.js';

export interface EdgeRoutesOptions {
  matchmaker: Matchmaker;
  config: Readonly<MatchmakerConfig>;
  /** Base64url spki Ed25519 key that verifies this matchmaker's session tokens. */
  sessionPublicKey: string;
  /** The store's kind ('memory' or 'redis'), for /v1/matchmaker. */
  storeKind: string;
  /** Checks a registration before it is stored (the capability snapshot; registerOperatorRoutes.ts). */
  checkRegistration: (body: SignedEdgeRegistration) => Promise<void>;
}

/** Edge control routes: matchmaker info, signed registration, heartbeats and session reports, the live edge list. */
export const edgeRoutes: FastifyPluginAsyncTypebox<EdgeRoutesOptions> = async (app, options) => {
  const { matchmaker, config, sessionPublicKey } = options;
  // Signed edge messages leave the per-client-address limit (players behind an edge's address must not
  // starve it): each is counted in its edge's bucket once its signature checks out (EdgeRegistry). What
  // fails before that (schema, signature, age) is counted per client address, and an address past
  // `edgeFailureLimitMax` is refused before its body is read.
  const failures = new RateBuckets({ max: config.edgeFailureLimitMax, windowMs: config.rateLimitWindowMs });
  const refuseFailing: onRequestHookHandler = (request, reply, done) => {
    if (!failures.exhausted(request.ip)) return done();
    reply.header('retry-after', Math.ceil(failures.retryAfterMs() / 1000));
    done(new FarplayError('RATE_LIMITED', 'too many edge messages that do not verify from this address'));
  };
  const countFailure: onSendHookHandler = (request, reply, payload, done) => {
    if ([400, 401, 413, 415].includes(reply.statusCode)) failures.take(request.ip);
    done(null, payload);
  };
  const signed = { config: { rateLimit: false }, onRequest: refuseFailing, onSend: countFailure } as const;
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
      deployment: deploymentOf(sessionPublicKey),
      heartbeatMs: config.heartbeatMs,
      edgeTtlMs: config.edgeTtlMs,
      reservationTtlMs: config.reservationTtlMs,
      messageMaxAgeMs: config.messageMaxAgeMs,
      store: options.storeKind,
    }),
  );
  app.post(
    '/v1/edges/register',
    {
      ...signed,
      schema: {
        tags: ['edges'],
        summary: 'Register an edge (EIP-712 signed by its node key)',
        body: SignedEdgeRegistration,
        response: { 200: RegisterEdgeResponse, ...errorResponses },
      },
    },
    async (request) => {
      await options.checkRegistration(request.body);
      const { edgeId } = await matchmaker.registerEdge(request.body);
      return { edgeId, heartbeatMs: config.heartbeatMs, edgeTtlMs: config.edgeTtlMs, sessionPublicKey };
    },
  );
  app.post(
    '/v1/edges/heartbeat',
    {
      ...signed,
      schema: {
        tags: ['edges'],
        summary:
          'Heartbeat with load and RTTs to peers (signed); answers the peers to measure next. MM_UNKNOWN_EDGE means register again',
        body: SignedEdgeHeartbeat,
        response: { 200: HeartbeatResponse, ...errorResponses },
      },
    },
    async (request) => {
      const peers = await matchmaker.heartbeat(request.body);
      return { ok: true, peers };
    },
  );
  app.post(
    '/v1/edges/sessions',
    {
      ...signed,
      schema: {
        tags: ['edges'],
        summary: 'Report a session started or ended (signed)',
        body: SignedEdgeSessionReport,
        response: { 200: Ok, ...errorResponses, 403: ErrorResponse },
      },
    },
    async (request) => {
      await matchmaker.reportSession(request.body);
      return { ok: true };
    },
  );
  app.post(
    '/v1/probes',
    {
      ...signed,
      schema: {
        tags: ['edges'],
        summary:
          'A probe session token for a checker (EIP-712 signed by a registered checker): no slot reserved, never billed',
        body: SignedProbeRequest,
        response: { 200: CreateSessionResponse, ...errorResponses, 403: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request) => matchmaker.probeToken(request.body),
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
};
