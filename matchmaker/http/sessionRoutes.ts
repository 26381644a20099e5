import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { FarplayError } from '../../protocol/errors.js';
import { CandidatesQuery, SessionStatus } from '../../protocol/matchmakerApi.js';
import { CandidatesResponse, CreateSessionRequest, CreateSessionResponse } from '../../protocol/playerApi.js';
import { SessionProof } from '../../protocol/sessionProof.js';
import type { Matchmaker } from '../Matchmaker.js';
import { ErrorResponse, errorResponses, Ok, SessionParams } from './schemas.js';

export interface SessionRoutesOptions {
  matchmaker: Matchmaker;
}

/** Player routes: candidates to probe, session allocation, session state (the events WebSocket: sessionEventsSocket.ts). */
export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (app, { matchmaker }) => {
  app.post(
    '/v1/candidates',
    {
      schema: {
        tags: ['players'],
        summary: 'Candidate edges to probe for a game',
        body: CandidatesQuery,
        response: { 200: CandidatesResponse, ...errorResponses },
      },
    },
    async (request) => matchmaker.candidates(request.body, request.ip),
  );
  app.post(
    '/v1/sessions',
    {
      schema: {
        tags: ['players'],
        summary: 'Allocate a session on the best edge and sign its token',
        body: CreateSessionRequest,
        response: {
          200: CreateSessionResponse,
          ...errorResponses,
          403: ErrorResponse,
          429: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request) => matchmaker.createSession(request.body, request.ip),
  );
  app.get(
    '/v1/sessions/:sessionId',
    {
      schema: {
        tags: ['players'],
        summary: 'A session’s state',
        params: SessionParams,
        response: { 200: SessionStatus, 404: ErrorResponse },
      },
    },
    async (request) => {
      const s = await matchmaker.session(request.params.sessionId);
      return { sessionId: s.sessionId, gameId: s.gameId, edgeId: s.edgeId, state: s.state };
    },
  );
  app.post(
    '/v1/sessions/:sessionId/end',
    {
      schema: {
        tags: ['players'],
        summary: 'End a session (signed by its session key: protocol/sessionProof.ts, act "end")',
        params: SessionParams,
        body: Type.Object({ proof: SessionProof }, { additionalProperties: false }),
        response: { 200: Ok, ...errorResponses, 403: ErrorResponse },
      },
    },
    async (request) => {
      await matchmaker.endSession(request.params.sessionId, request.body.proof);
      return { ok: true };
    },
  );
  app.get(
    '/v1/sessions/:sessionId/events',
    {
      schema: {
        tags: ['players'],
        summary:
          'WebSocket (?proof=<base64url signed "watch" act>): {type:"moved", session} on failover, {type:"ended"} (HTTP without upgrade: 400)',
        params: SessionParams,
      },
    },
    async () => {
      throw new FarplayError('BAD_REQUEST', 'this route is a WebSocket; send Upgrade: websocket');
    },
  );
};
