import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { GameVersionsResponse, PinGameRequest, StudioGamesResponse } from '../../protocol/matchmakerApi.js';
import type { Matchmaker } from '../Matchmaker.js';
import { ErrorResponse, errorResponses } from './schemas.js';
import { studioOf } from './studioOf.js';

export interface StudioRoutesOptions {
  matchmaker: Matchmaker;
  /** Studio API key → studio. */
  studioKeys: ReadonlyMap<string, string>;
}

const GameParams = Type.Object({ gameId: Type.String({ minLength: 1, maxLength: 64 }) });
const refusals = { ...errorResponses, 403: ErrorResponse };

/** A studio's own games: list them, list a game's versions, pin a version, unpublish (what `farplay studio` uses). */
export const studioRoutes: FastifyPluginAsyncTypebox<StudioRoutesOptions> = async (app, options) => {
  const { matchmaker, studioKeys } = options;
  app.get(
    '/v1/studio/games',
    {
      schema: {
        tags: ['studios'],
        summary: "The calling studio's games in the catalogue (the key's check for `farplay studio login`)",
        security: [{ studioKey: [] }],
        response: { 200: StudioGamesResponse, ...refusals },
      },
    },
    async (request) => {
      const studio = studioOf(request, studioKeys);
      const games = matchmaker
        .publishedGames()
        .filter((g) => g.studio === studio)
        .map((g) => ({
          id: g.game.id,
          title: g.game.title,
          runtime: g.runtime,
          version: g.version ?? null,
          publishedAt: g.publishedAt,
        }))
        .sort((a, b) => a.id.localeCompare(b.id));
      return { studio, games };
    },
  );
  app.get(
    '/v1/studio/games/:gameId/versions',
    {
      schema: {
        tags: ['studios'],
        summary: 'Every version of one of the studio’s games, with the pinned and the live one',
        security: [{ studioKey: [] }],
        params: GameParams,
        response: { 200: GameVersionsResponse, ...refusals },
      },
    },
    async (request) => versionsAnswer(matchmaker, request.params.gameId, studioOf(request, studioKeys)),
  );
  app.post(
    '/v1/studio/games/:gameId/pin',
    {
      schema: {
        tags: ['studios'],
        summary: 'Serve one version whatever is published later ({"version": null} serves the latest again)',
        security: [{ studioKey: [] }],
        params: GameParams,
        body: PinGameRequest,
        response: { 200: GameVersionsResponse, ...refusals },
      },
    },
    async (request) => {
      const studio = studioOf(request, studioKeys);
      const { gameId } = request.params;
      await matchmaker.pinGame(gameId, studio, request.body.version);
      request.log.info({ studio, gameId, version: request.body.version }, 'game pinned');
      return versionsAnswer(matchmaker, gameId, studio);
    },
  );
  app.delete(
    '/v1/studio/games/:gameId',
    {
      schema: {
        tags: ['studios'],
        summary:
          'Unpublish one version (?version=N; the pinned or latest one left is served) or the whole game',
        security: [{ studioKey: [] }],
        params: GameParams,
        querystring: Type.Object({ version: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$' })) }),
        response: { 200: GameVersionsResponse, ...refusals },
      },
    },
    async (request) => {
      const studio = studioOf(request, studioKeys);
      const { gameId } = request.params;
      const version = request.query.version === undefined ? undefined : Number(request.query.version);
      await matchmaker.unpublishGame(gameId, studio, version);
      request.log.info({ studio, gameId, version }, 'game unpublished');
      return versionsAnswer(matchmaker, gameId, studio);
    },
  );
};

/** The versions answer after a change. */
async function versionsAnswer(
  matchmaker: Matchmaker,
  gameId: string,
  studio: string,
): Promise<GameVersionsResponse> {
  const all = await matchmaker.gameVersions(gameId, studio);
  return {
    gameId,
    pinned: all.pinned,
    live: all.live,
    versions: all.versions.map((v) => ({
      version: v.version ?? 0,
      publishedAt: v.publishedAt,
      title: v.game.title,
      runtime: v.runtime,
      ...(v.command !== undefined ? { command: v.command } : {}),
      ...(v.packageSha256 !== undefined ? { packageSha256: v.packageSha256 } : {}),
    })),
  };
}
