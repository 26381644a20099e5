import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { FarplayError } from '../../protocol/errors.js';
import { useCatalogueErrors } from '../../protocol/http/useCatalogueErrors.js';
import {
  CandidatesRequest,
  type CandidatesResponse,
  CreateSessionRequest,
  EDGE_TIME_HEADER,
  type ListGamesResponse,
} from '../../protocol/playerApi.js';
import type { Edge } from '../Edge.js';

/** Options of the `edgeRoutes` plugin. */
export interface EdgeRoutesOptions {
  edge: Edge;
}

const TokenQuery = Type.Object({ token: Type.Optional(Type.String()) });
const StatsQuery = Type.Object({ reset: Type.Optional(Type.String()) });
const GameParams = Type.Object({ gameId: Type.String({ maxLength: 64 }) });
const WhepParams = Type.Object({ sessionId: Type.String({ maxLength: 128 }) });

/**
 * The edge's HTTP routes as a fastify plugin: health, info, operator stats, the RTT probe and WHEP
 * always; the player API (games, candidates, sessions) and the static player when standalone. Errors
 * answer with catalogue codes.
 */
export const edgeRoutes: FastifyPluginAsyncTypebox<EdgeRoutesOptions> = async (app, { edge }) => {
  useCatalogueErrors(app);

  // The player page may come from another origin (the matchmaker, a dev server): the API is CORS-open.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('access-control-allow-origin', '*');
    if (request.method === 'OPTIONS') {
      reply
        .header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS')
        .header('access-control-allow-headers', 'content-type, authorization')
        .header('access-control-max-age', '600')
        .status(204)
        .send();
    }
  });
  app.options('/*', async (_request, reply) => reply.status(204).send());

  app.get('/health', async () => {
    const info = edge.info();
    return {
      ok: info.encoder !== 'none',
      edgeId: info.id,
      encoder: info.encoder,
      encoders: edge.encoderProbe.probes,
      activeSessions: info.activeSessions,
      capacity: info.capacity,
    };
  });

  app.get('/v1/edge', async () => ({ ...edge.info(), sessionPublicKey: edge.sessionPublicKey }));

  // Edge-side timings (frame ready → last packet sent, encode time) and per-session counters;
  // `?reset=1` clears the timing windows after answering (benches do it after warm-up). Operator-only:
  // it lists session ids (which must stay private to their players) and a reset would skew the encode
  // headroom the edge reports to the matchmaker.
  app.get('/v1/stats', { schema: { querystring: StatsQuery } }, async (request) => {
    if (!isLoopback(request.socket.remoteAddress)) throw new FarplayError('EDGE_OPERATOR_ONLY');
    const stats = edge.stats();
    if (request.query.reset === '1') edge.resetTimings();
    return stats;
  });

  // The operator's money (edge/billing/readEarnings.ts): minutes played, attested, paid and pending per session and
  // today, the checkers' recent verdicts, the last settlement transaction, the escrow earnings. Operator-only like
  // the stats (it lists the sessions' billing ids); `{ billing: false }` when the edge does not bill.
  app.get('/v1/earnings', async (request) => {
    if (!isLoopback(request.socket.remoteAddress)) throw new FarplayError('EDGE_OPERATOR_ONLY');
    const source = edge.earningsSource;
    return source === undefined ? { billing: false } : source();
  });

  // RTT probe for the player's candidate measurement: empty 204, CORS open, timing visible, never cached. It carries
  // the edge's clock (unix ms, the clock frame stamps use) so the player can estimate the offset
  // between its clock and ours (NTP-style) for glass-to-glass latency.
  app.get('/v1/probe', async (_request, reply) =>
    reply
      .header('cache-control', 'no-store')
      .header(EDGE_TIME_HEADER, String(Date.now()))
      .header('access-control-expose-headers', EDGE_TIME_HEADER)
      // The page's probe times its first GET by Resource Timing (one GET per probe instead of two).
      .header('timing-allow-origin', '*')
      .status(204)
      .send(),
  );

  // The catalogue picture of a game this edge runs: a PNG rendered from one of its real frames.
  app.get('/v1/games/:gameId/thumbnail', { schema: { params: GameParams } }, async (request, reply) => {
    const { gameId } = request.params;
    const png = await edge.thumbnail(gameId);
    if (png === undefined) throw new FarplayError('EDGE_UNKNOWN_GAME', `no game ${gameId} on this edge`);
    return reply
      .header('content-type', 'image/png')
      .header('cache-control', 'public, max-age=3600')
      .send(png);
  });

  // WHEP (draft-ietf-wish-whep): a third-party player POSTs its SDP offer with the session token as
  // bearer (or `?token=`), gets the answer (all candidates, no trickle) and DELETEs the Location to end.
  app.addContentTypeParser(
    'application/sdp',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_request, body, done) => done(null, body),
  );
  const tokenOf = (request: FastifyRequest, query: { token?: string | undefined }): string | null => {
    const header = request.headers.authorization;
    if (header?.startsWith('Bearer ')) return header.slice(7).trim();
    return query.token ?? null;
  };
  app.post('/v1/whep', { schema: { querystring: TokenQuery } }, async (request, reply) => {
    if (typeof request.body !== 'string' || !request.headers['content-type']?.startsWith('application/sdp')) {
      throw new FarplayError('EDGE_BAD_SDP', 'WHEP expects an application/sdp offer');
    }
    const { sessionId, answer } = await edge.startWhep(tokenOf(request, request.query), request.body);
    return reply
      .status(201)
      .header('content-type', 'application/sdp')
      .header('location', `/v1/whep/${sessionId}`)
      .header('access-control-expose-headers', 'location')
      .send(answer);
  });
  app.delete(
    '/v1/whep/:sessionId',
    { schema: { params: WhepParams, querystring: TokenQuery } },
    async (request, reply) => {
      if (!edge.endWhep(request.params.sessionId, tokenOf(request, request.query)))
        throw new FarplayError('NOT_FOUND', 'no such WHEP session for this token');
      return reply.status(200).send();
    },
  );

  if (edge.standalone) {
    app.get(
      '/v1/games',
      async (request): Promise<ListGamesResponse> => ({
        games: edge.games().map((game) => ({
          ...game,
          thumbnailUrl: game.thumbnailUrl ?? `${baseUrl(edge, request)}/v1/games/${game.id}/thumbnail`,
        })),
      }),
    );

    app.post(
      '/v1/candidates',
      { schema: { body: CandidatesRequest } },
      async (request): Promise<CandidatesResponse> => {
        const { gameId } = request.body;
        const game = edge.games().find((g) => g.id === gameId);
        if (!game) throw new FarplayError('EDGE_UNKNOWN_GAME', `no game ${gameId} on this edge`);
        const base = baseUrl(edge, request);
        return {
          candidates: [
            {
              edgeId: edge.id,
              region: edge.config.region,
              probeUrl: `${base}/v1/probe`,
              pricePerMinute: game.pricePerMinute,
              priceMultiplier: 1,
            },
          ],
        };
      },
    );

    app.post('/v1/sessions', { schema: { body: CreateSessionRequest } }, async (request, reply) =>
      reply.status(201).send(edge.createSession(request.body.gameId, baseUrl(edge, request))),
    );
  }

  const staticDir = edge.config.staticDir ? resolve(edge.config.staticDir) : undefined;
  if (staticDir) {
    if (!existsSync(staticDir)) {
      app.log.warn({ staticDir }, 'staticDir does not exist; the player is not served');
    } else {
      await app.register(fastifyStatic, { root: staticDir, prefix: '/', index: ['index.html'] });
    }
  }
};

/** The base URL the player reached us at (publicUrl wins), so minted URLs work behind any host name. */
function baseUrl(edge: Edge, request: FastifyRequest): string {
  if (edge.config.publicUrl) return edge.config.publicUrl.replace(/\/$/, '');
  const host = request.headers.host;
  if (host) return `${request.protocol}://${host}`;
  return edge.url ?? 'http://127.0.0.1';
}

/** True for a loopback peer address (IPv4 127/8, IPv6 ::1, or IPv4-mapped loopback). */
function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
