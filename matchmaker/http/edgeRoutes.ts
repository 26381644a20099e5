import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  SignedEdgeHeartbeat,
  SignedEdgeRegistration,
  SignedEdgeSessionReport,
} from '../../protocol/edgeRegistration.js';
import { ListEdgesResponse, MatchmakerInfo, RegisterEdgeResponse } from '../../protocol/matchmakerApi.js';
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
      store: options.storeKind,
    }),
  );
  app.post(
    '/v1/edges/register',
    {
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
      schema: {
        tags: ['edges'],
        summary: 'Heartbeat with load (signed); MM_UNKNOWN_EDGE means register again',
        body: SignedEdgeHeartbeat,
        response: { 200: Ok, ...errorResponses },
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
        response: { 200: Ok, ...errorResponses, 403: ErrorResponse },
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
};
