import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { FarplayError } from '../../protocol/errors.js';
import { PackageUploaded } from '../../protocol/matchmakerApi.js';
import type { PackageStore } from '../createPackageStore.js';
import { ErrorResponse, errorResponses } from './schemas.js';
import { studioOf } from './studioOf.js';

export interface PackageRoutesOptions {
  packages: PackageStore;
  /** Studio API key → studio. */
  studioKeys: ReadonlyMap<string, string>;
  /** Largest package, bytes. */
  packageLimit: number;
  /** Refuses (MM_PACKAGE_FORBIDDEN) a download by anyone but an edge or a player of a game using the package. */
  mayDownload: (request: FastifyRequest, sha256: string) => Promise<void>;
}

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });

/** Game packages: studios upload them (content-addressed), edges download them by sha256. */
export const packageRoutes: FastifyPluginAsyncTypebox<PackageRoutesOptions> = async (app, options) => {
  const { packages, studioKeys } = options;
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'buffer', bodyLimit: options.packageLimit },
    (_request, body, done) => done(null, body),
  );
  app.put(
    '/v1/studio/packages',
    {
      bodyLimit: options.packageLimit,
      // The key is checked before a byte of the body is read: a wrong key costs the server nothing.
      onRequest: (request, _reply, done) => {
        try {
          studioOf(request, studioKeys);
          done();
        } catch (error) {
          done(error as Error);
        }
      },
      schema: {
        tags: ['studios'],
        summary: 'Upload a game package (application/octet-stream); stored under its sha256',
        security: [{ studioKey: [] }],
        querystring: Type.Object({ sha256: Type.Optional(Sha256) }),
        response: { 200: PackageUploaded, ...errorResponses, 413: ErrorResponse },
      },
    },
    async (request) => {
      studioOf(request, studioKeys);
      const body: unknown = request.body;
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
        summary:
          'Download a package by sha256 (edges verify the hash): registered edges (x-farplay-edge-auth) and players of its game (Bearer session token)',
        params: Type.Object({ sha256: Sha256 }),
      },
    },
    async (request, reply) => {
      await options.mayDownload(request, request.params.sha256);
      const bytes = await packages.get(request.params.sha256);
      if (!bytes) throw new FarplayError('MM_UNKNOWN_PACKAGE');
      return reply.type('application/octet-stream').send(bytes);
    },
  );
};
