import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { FarplayError } from '../../protocol/errors.js';
import { GameManifest, GamePublished, PublishedManifest } from '../../protocol/matchmakerApi.js';
import { ListGamesResponse } from '../../protocol/playerApi.js';
import type { PackageStore } from '../createPackageStore.js';
import type { Matchmaker } from '../Matchmaker.js';
import { ErrorResponse, errorResponses } from './schemas.js';
import { studioOf } from './studioOf.js';

export interface GameRoutesOptions {
  matchmaker: Matchmaker;
  packages: PackageStore;
  /** Studio API key → studio. */
  studioKeys: ReadonlyMap<string, string>;
}

/** The catalogue for players and the studio publishing route. */
export const gameRoutes: FastifyPluginAsyncTypebox<GameRoutesOptions> = async (app, options) => {
  const { matchmaker, packages, studioKeys } = options;
  app.get(
    '/v1/games',
    { schema: { tags: ['players'], summary: 'The game catalogue', response: { 200: ListGamesResponse } } },
    async () => ({ games: matchmaker.games() }),
  );
  app.get(
    '/v1/games/:gameId/manifest',
    {
      schema: {
        tags: ['edges'],
        summary:
          "A published game's manifest (edges start package games from it): the version served now, or `version` (what a session token names)",
        params: Type.Object({ gameId: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: Type.Object({ version: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$' })) }),
        response: { 200: PublishedManifest, ...errorResponses },
      },
    },
    async (request) => {
      const { gameId } = request.params;
      const version = request.query.version === undefined ? undefined : Number(request.query.version);
      const published =
        version === undefined
          ? matchmaker.manifest(gameId)
          : await matchmaker.manifestVersion(gameId, version);
      if (!published) {
        const what = version === undefined ? `game ${gameId}` : `version ${version} of ${gameId}`;
        throw new FarplayError('MM_UNKNOWN_GAME', `no published ${what}`);
      }
      const { game, ...rest } = published;
      return { ...game, ...rest };
    },
  );
  app.post(
    '/v1/studio/games',
    {
      schema: {
        tags: ['studios'],
        summary: 'Publish a new version of a game manifest (served unless another version is pinned)',
        security: [{ studioKey: [] }],
        body: GameManifest,
        response: {
          200: GamePublished,
          ...errorResponses,
          403: ErrorResponse,
        },
      },
    },
    async (request) => {
      const studio = studioOf(request, studioKeys);
      const { runtime, command, packageSha256, network, ...game } = request.body;
      if (runtime === 'package') {
        if (!packageSha256 || !command) {
          throw new FarplayError('BAD_REQUEST', "runtime 'package' needs packageSha256 and command");
        }
        if (!(await packages.has(packageSha256))) throw new FarplayError('MM_UNKNOWN_PACKAGE');
      }
      const version = await matchmaker.publishGame({
        game,
        runtime,
        ...(command ? { command } : {}),
        ...(packageSha256 ? { packageSha256 } : {}),
        ...(network !== undefined ? { network } : {}),
        studio,
        publishedAt: Date.now(),
      });
      request.log.info({ studio, gameId: game.id, runtime, version }, 'game published');
      return { game, version };
    },
  );
};
