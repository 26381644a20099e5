import type { KeyObject } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { FarplayError } from '../../protocol/errors.js';
import { PACKAGE_AUTH_HEADER, verifyPackageDownload } from '../../protocol/packageDownload.js';
import { verifySessionToken } from '../../protocol/sessionToken.js';
import type { Matchmaker } from '../Matchmaker.js';

export interface PackageAccessOptions {
  matchmaker: Matchmaker;
  /** Verifies session tokens (this deployment's token key). */
  publicKey: KeyObject;
  deployment: string;
  /** Freshness window of a signed edge download, ms. */
  maxAgeMs: number;
}

/**
 * Who may download package `sha256` (protocol/packageDownload.ts): an edge this matchmaker has live, by a
 * signed request, or a player whose session token (unexpired, signed by this deployment) is for a game the
 * catalogue serves from that package. Everyone else: MM_PACKAGE_FORBIDDEN.
 */
export function packageAccess(options: PackageAccessOptions) {
  return async (request: FastifyRequest, sha256: string): Promise<void> => {
    const edgeAuth = request.headers[PACKAGE_AUTH_HEADER];
    if (typeof edgeAuth === 'string') {
      const edge = await verifyPackageDownload({
        header: edgeAuth,
        sha256,
        deployment: options.deployment,
        maxAgeMs: options.maxAgeMs,
      });
      if (!options.matchmaker.edges().some((e) => e.edge.id === edge))
        throw new FarplayError('MM_PACKAGE_FORBIDDEN', 'the edge is not registered here');
      return;
    }
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer) throw new FarplayError('MM_PACKAGE_FORBIDDEN');
    let gameId: string;
    try {
      // The token names its edge; any edge's token of this deployment will do.
      const claims = JSON.parse(Buffer.from(bearer.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
        edgeId?: unknown;
      };
      const edgeId = typeof claims.edgeId === 'string' ? claims.edgeId : '';
      gameId = verifySessionToken({ token: bearer, publicKey: options.publicKey, edgeId }).gameId;
    } catch (cause) {
      throw new FarplayError('MM_PACKAGE_FORBIDDEN', 'the session token is not valid here', { cause });
    }
    if (options.matchmaker.manifest(gameId)?.packageSha256 !== sha256)
      throw new FarplayError(
        'MM_PACKAGE_FORBIDDEN',
        `the session's game ${gameId} is not served from this package`,
      );
  };
}
